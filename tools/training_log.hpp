// train-mnist's --log: the training history as CSV, one row per step.
#pragma once

#include <string>
#include <vector>

#include "eigennet/train/train.hpp"

namespace eigennet::tools {

// Columns step,epoch,loss,batch_accuracy,test_loss,test_accuracy,validation_loss,
// validation_accuracy: each step's loss and batch accuracy, and the passes that ran after it
// (empty fields where none ran). Written atomically.
void write_training_log(const std::string& path, const TrainingHistory& history);

// A sweep's log (train-mnist --lr 5e-4,0.9,5e-2): one CSV, the swept flags' columns first (e.g.
// `lr`; a value holding a comma, as `--hidden 64,32`, is quoted), then the columns above; the runs
// one after the other, each row naming its run's values. A diverged run has the steps before
// its divergence. Written atomically.
struct SweepLogRun {
  std::vector<std::string> values;  // one per column, as the user typed them
  const TrainingHistory* history;
};
void write_sweep_log(const std::string& path, const std::vector<std::string>& columns,
                     const std::vector<SweepLogRun>& runs);

}  // namespace eigennet::tools

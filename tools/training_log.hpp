// train-mnist's --log: the training history as CSV, one row per step.
#pragma once

#include <string>

#include "eigennet/train/train.hpp"

namespace eigennet::tools {

// Columns step,epoch,loss,batch_accuracy,test_loss,test_accuracy,validation_loss,
// validation_accuracy: each step's loss and batch accuracy, and the passes that ran after it
// (empty fields where none ran). Written atomically.
void write_training_log(const std::string& path, const TrainingHistory& history);

}  // namespace eigennet::tools

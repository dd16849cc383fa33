// train-mnist's progress on stdout: on a terminal a bar redrawn in place (at most every 0.1 s)
// and a line per epoch; otherwise plain lines, one per epoch (epoch loop) or per test pass
// (iteration loop).
#pragma once

#include <chrono>
#include <string>

#include "eigennet/train/train.hpp"

namespace eigennet::tools {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Progress {
 public:
  // total_steps: the steps the run will take; epochs: 0 for the iteration loop.
  Progress(bool terminal, Index total_steps, Index epochs)
      : terminal_(terminal), total_(total_steps), epochs_(epochs), start_(Clock::now()) {}

  // The training loop's observer.
  void operator()(TrainingEvent event, const TrainingHistory& h);
  // Clears the bar after the last step.
  void finish();

 private:
  std::string step_line(const TrainingHistory& h) const;
  std::string epoch_line(const TrainingHistory& h) const;
  void draw_bar(const TrainingHistory& h);
  void clear_bar();

  bool terminal_;
  Index total_, epochs_;
  Clock::time_point start_, last_draw_{};
};

}  // namespace eigennet::tools

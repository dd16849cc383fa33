#include "progress.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "format.hpp"

namespace eigennet::tools {

void Progress::operator()(TrainingEvent event, const TrainingHistory& h) {
  if (terminal_) {
    if (event == TrainingEvent::Epoch) {
      clear_bar();
      std::printf("%s\n", epoch_line(h).c_str());
    }
    if (event != TrainingEvent::Step || seconds_since(last_draw_) > 0.1 || h.steps() == total_) draw_bar(h);
  } else if (event == TrainingEvent::Epoch) {
    std::printf("%s\n", epoch_line(h).c_str());
  } else if (event == TrainingEvent::Test && epochs_ == 0) {
    std::printf("%s\n", step_line(h).c_str());
  }
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) clear_bar();
  std::fflush(stdout);
}

std::string Progress::step_line(const TrainingHistory& h) const {
  std::string line = format("step %lld/%lld  loss %.4f  batch acc %6.2f%%", (long long)h.steps(),
                            (long long)total_, h.loss.back(), 100 * h.batch_accuracy.back());
  if (!h.test_accuracy.empty()) line += format("  test acc %6.2f%%", 100 * h.test_accuracy.back());
  if (!h.validation_accuracy.empty()) line += format("  val acc %6.2f%%", 100 * h.validation_accuracy.back());
  return line + format("  %.1f s", seconds_since(start_));
}

std::string Progress::epoch_line(const TrainingHistory& h) const {
  std::string line = format("epoch %zu/%lld  loss %.4f  train acc %6.2f%%", h.epoch_loss.size(), (long long)epochs_,
                            h.epoch_loss.back(), 100 * h.epoch_accuracy.back());
  if (!h.validation_accuracy.empty())
    line += format("  val loss %.4f  val acc %6.2f%%", h.validation_loss.back(), 100 * h.validation_accuracy.back());
  if (!h.test_step.empty() && h.test_step.back() == h.epoch_end_step.back())
    line += format("  test acc %6.2f%%", 100 * h.test_accuracy.back());
  return line + format("  %.1f s", seconds_since(start_));
}

void Progress::draw_bar(const TrainingHistory& h) {
  const int width = 30;
  const int filled = int(width * h.steps() / std::max<Index>(1, total_));
  std::string bar(std::size_t(filled), '#');
  bar.append(std::size_t(width - filled), '.');
  std::string text = format("\r[%s] %lld/%lld  loss %.4f  batch %6.2f%%", bar.c_str(), (long long)h.steps(),
                            (long long)total_, h.loss.back(), 100 * h.batch_accuracy.back());
  if (!h.test_accuracy.empty()) text += format("  test %6.2f%%", 100 * h.test_accuracy.back());
  text += format("  %.1fs ", seconds_since(start_));
  std::fputs(text.c_str(), stdout);
  last_draw_ = Clock::now();
}

void Progress::clear_bar() { std::fputs("\r\033[2K", stdout); }

}  // namespace eigennet::tools

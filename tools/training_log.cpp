#include "training_log.hpp"

#include <algorithm>
#include <vector>

#include "eigennet/data/atomic_file.hpp"
#include "format.hpp"

namespace eigennet::tools {

namespace {

const char* const kHeader =
    "step,epoch,loss,batch_accuracy,test_loss,test_accuracy,validation_loss,validation_accuracy";

// The history's rows, each starting with `prefix`.
void append_rows(std::string& csv, const TrainingHistory& h, const std::string& prefix) {
  std::size_t test = 0, epoch = 0;
  // The validation passes follow the test passes (iteration loop) or the epochs (epoch loop).
  const bool by_epoch = !h.epoch_end_step.empty();
  const std::vector<double>& validation_steps = by_epoch ? h.epoch_end_step : h.test_step;
  for (Index s = 1; s <= h.steps(); ++s) {
    const std::size_t i = std::size_t(s - 1);
    while (by_epoch && epoch < h.epoch_end_step.size() && h.epoch_end_step[epoch] < double(s)) ++epoch;
    csv += prefix + std::to_string(s) + "," + (by_epoch ? std::to_string(epoch + 1) : "") + "," +
           format("%.9g,%.9g", h.loss[i], h.batch_accuracy[i]);
    if (test < h.test_step.size() && h.test_step[test] == double(s)) {
      csv += format(",%.9g,%.9g", h.test_loss[test], h.test_accuracy[test]);
      ++test;
    } else {
      csv += ",,";
    }
    const auto v = std::find(validation_steps.begin(), validation_steps.end(), double(s)) - validation_steps.begin();
    if (std::size_t(v) < h.validation_accuracy.size())
      csv += format(",%.9g,%.9g", h.validation_loss[std::size_t(v)], h.validation_accuracy[std::size_t(v)]);
    else
      csv += ",,";
    csv += "\n";
  }
}

void write_text(const std::string& path, const std::string& csv) {
  write_file_atomic(path, [&](FileSink& sink) { sink.write(csv.data(), csv.size()); });
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

void write_training_log(const std::string& path, const TrainingHistory& h) {
  std::string csv = std::string(kHeader) + "\n";
  append_rows(csv, h, "");
  write_text(path, csv);
}

void write_sweep_log(const std::string& path, const std::vector<std::string>& columns,
                     const std::vector<SweepLogRun>& runs) {
  std::string csv;
  for (const std::string& c : columns) csv += csv_field(c) + ",";
  csv += std::string(kHeader) + "\n";
  for (const SweepLogRun& run : runs) {
    std::string prefix;
    for (const std::string& v : run.values) prefix += csv_field(v) + ",";
    append_rows(csv, *run.history, prefix);
  }
  write_text(path, csv);
}

}  // namespace eigennet::tools

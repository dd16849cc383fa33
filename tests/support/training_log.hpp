// Reading what train-mnist and the reference scripts write: a file of numbers, and a column of
// train-mnist's CSV log (header step,epoch,loss,batch_accuracy,...).
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace eigennet_test {

// Whitespace-separated numbers (the reference scripts' --losses files).
inline std::vector<double> read_numbers(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return values;
}

// The loss column of train-mnist's CSV log, one value per step.
inline std::vector<double> read_log_losses(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::vector<double> values;
  std::string line, step, epoch, loss;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::getline(fields, step, ',');
    std::getline(fields, epoch, ',');
    std::getline(fields, loss, ',');
    values.push_back(std::stod(loss));
  }
  return values;
}

}  // namespace eigennet_test

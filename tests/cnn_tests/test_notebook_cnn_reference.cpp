// notebook-cnn in C++ (train-mnist, float32) against its PyTorch-CPU reference
// (tests/reference/notebook_cnn_torch.py, Debian's torch through /usr/bin/python3), on the real
// MNIST: same initial values (RandomState(42)), same batches, same float32 arithmetic. The final
// test accuracies must agree within 0.3 points (the bound), and the 400 per-step losses
// to 1e-5 (relative; measured: 7e-7). Both test after the last step only (--test-every 0): the
// passes every 10 steps do not change the training.
// If the reference cannot run (no torch, no data), the test fails.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string require_env(const char* name) {
  const char* value = std::getenv(name);
  REQUIRE_MESSAGE(value != nullptr, name << " is not set: run this test through `meson test`");
  return value;
}

struct Run {
  int status = -1;
  std::string output;
};

Run run(const std::string& command) {
  Run r;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run: " << command);
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) r.output.append(chunk, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The number in the last line `test accuracy: NN.NN%`.
double final_accuracy(const Run& r) {
  const std::string key = "test accuracy: ";
  const std::size_t at = r.output.rfind(key);
  REQUIRE_MESSAGE(at != std::string::npos, "no `test accuracy: NN.NN%` line in:\n" << r.output);
  return std::stod(r.output.substr(at + key.size()));
}

std::vector<double> read_numbers(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return values;
}

// The loss column (third) of train-mnist's CSV log.
std::vector<double> read_log_losses(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> values;
  std::string line, step, epoch, loss;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::getline(fields, step, ',');
    std::getline(fields, epoch, ',');
    std::getline(fields, loss, ',');
    values.push_back(std::stod(loss));
  }
  return values;
}

}  // namespace

TEST_CASE("notebook-cnn matches PyTorch: final test accuracy within 0.3 points, step losses to 1e-5") {
  const std::string mnist = require_env("EIGENNET_MNIST_DIR");
  const std::string script = require_env("EIGENNET_REFERENCE_DIR") + "/notebook_cnn_torch.py";
  const std::string tool = require_env("EIGENNET_TRAIN_MNIST");
  REQUIRE_MESSAGE(fs::exists(script), script << " is missing");
  const fs::path scratch = fs::temp_directory_path() / ("eigennet-cnn-reference-" + std::to_string(::getpid()));
  fs::create_directories(scratch);

  const Run torch_run = run("/usr/bin/python3 " + script + " --data " + mnist + " --test-every 0 --threads 2 --losses " +
                            (scratch / "torch-losses.txt").string());
  INFO("PyTorch reference output:\n" << torch_run.output);
  REQUIRE_MESSAGE(torch_run.status == 0, "the PyTorch reference did not run (needs python3-torch for /usr/bin/python3)");
  const Run cpp_run = run(tool + " --recipe notebook-cnn --data " + mnist + " --test-every 0 --threads 2 --log " +
                          (scratch / "cpp-log.csv").string());
  INFO("train-mnist output:\n" << cpp_run.output);
  REQUIRE(cpp_run.status == 0);

  const double torch_accuracy = final_accuracy(torch_run), cpp_accuracy = final_accuracy(cpp_run);
  MESSAGE("notebook-cnn final test accuracy: PyTorch " << torch_accuracy << "%, eigennet " << cpp_accuracy << "%");
  CHECK(std::abs(torch_accuracy - cpp_accuracy) <= 0.3);

  const std::vector<double> torch_losses = read_numbers((scratch / "torch-losses.txt").string());
  const std::vector<double> cpp_losses = read_log_losses((scratch / "cpp-log.csv").string());
  REQUIRE(torch_losses.size() == 400);
  REQUIRE(cpp_losses.size() == 400);
  double worst = 0;
  for (std::size_t i = 0; i < 400; ++i)
    worst = std::max(worst, std::abs(torch_losses[i] - cpp_losses[i]) / std::abs(torch_losses[i]));
  MESSAGE("largest relative difference of the 400 step losses: " << worst);
  CHECK(worst < 1e-5);
  CHECK(cpp_losses.back() < 0.8 * cpp_losses.front());  // it learned (a sanity check on both)
  fs::remove_all(scratch);
}

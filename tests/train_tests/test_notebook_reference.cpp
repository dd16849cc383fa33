// notebook-mlp in C++ (train-mnist, double) against its numpy reference
// (tests/reference/notebook_mlp.py, Debian's numpy through /usr/bin/python3), on the dataset the
// tests find (tests/support/dataset.hpp: MNIST, else Fashion-MNIST; both runs read the same files),
// in both batch modes: randint batches and the first 40 samples every step. The final test
// accuracies must agree within 0.1 points, and the 400 per-step losses to 1e-6 (relative).
// Both runs test after the last step only (--test-every 0): the test passes every 10 steps do
// not change the training and would make this test five times longer.
// If the reference cannot run (no numpy, no data), the test fails.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "support/dataset.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/training_log.hpp"

using namespace eigennet_test;
namespace fs = std::filesystem;

namespace {

void compare(const std::string& mode) {
  const std::string mnist = eigennet_test::test_dataset().data.directory;
  const std::string reference = require_env("EIGENNET_REFERENCE_DIR") + "/notebook_mlp.py";
  const std::string tool = require_env("EIGENNET_TRAIN_MNIST");
  REQUIRE_MESSAGE(fs::exists(reference), reference << " is missing");
  const TempDir scratch;

  const CommandResult numpy_run = run_command("/usr/bin/python3 " + reference + " --data " + mnist + " --batch-mode " +
                                              mode + " --test-every 0 --losses " + scratch.file("numpy-losses.txt"));
  INFO("numpy reference output:\n" << numpy_run.output);
  REQUIRE_MESSAGE(numpy_run.status == 0, "the numpy reference did not run (needs python3-numpy for /usr/bin/python3)");
  const double numpy_accuracy = final_test_accuracy(numpy_run);

  const CommandResult cpp_run =
      run_command(tool + " --recipe notebook-mlp --dtype double --data " + mnist + " --test-every 0 --threads 1 " +
                  (mode == "first" ? "--first-batch " : "") + "--log " + scratch.file("cpp-log.csv"));
  INFO("train-mnist output:\n" << cpp_run.output);
  REQUIRE(cpp_run.status == 0);
  const double cpp_accuracy = final_test_accuracy(cpp_run);

  MESSAGE("notebook-mlp, batches " << mode << ": numpy " << numpy_accuracy << "%, C++ " << cpp_accuracy << "%");
  CHECK(std::abs(numpy_accuracy - cpp_accuracy) <= 0.1);

  const std::vector<double> numpy_losses = read_numbers(scratch.file("numpy-losses.txt"));
  const std::vector<double> cpp_losses = read_log_losses(scratch.file("cpp-log.csv"));
  REQUIRE(numpy_losses.size() == 400);
  REQUIRE(cpp_losses.size() == 400);
  double worst = 0;
  for (std::size_t i = 0; i < 400; ++i)
    worst = std::max(worst, std::abs(numpy_losses[i] - cpp_losses[i]) / std::abs(numpy_losses[i]));
  MESSAGE("largest relative difference of the 400 step losses: " << worst);
  CHECK(worst < 1e-6);
}

}  // namespace

TEST_CASE("notebook-mlp matches numpy: random batches (randint from RandomState(42) after the weights)") {
  compare("random");
}

TEST_CASE("notebook-mlp matches numpy: the first 40 samples every step") { compare("first"); }

// train-mnist ($EIGENNET_TRAIN_MNIST) run as a user runs it: bad input gives a clear error and a
// non-zero exit; a good run ends with `test accuracy: NN.NN%`, saves a checkpoint that loads
// back, and writes its log. Small datasets are generated as IDX files in a scratch folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "eigennet/data/idx.hpp"
#include "eigennet/data/npz.hpp"
#include "eigennet/random.hpp"
#include "support/mnist_files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace eigennet;
using namespace eigennet_test;
namespace fs = std::filesystem;

namespace {

std::string tool() { return require_env("EIGENNET_TRAIN_MNIST"); }
// The tool on one pinned GEMM kernel, where a run's numbers are compared with another process's
// (the planner, the default, may choose other kernels there, which round differently).
std::string pinned_tool() { return "EIGENNET_GEMM=eigen " + tool(); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("an unknown flag is an error naming the flag, exit non-zero") {
  const CommandResult r = run_command(tool() + " --bogus-flag 3");
  INFO(r.output);
  CHECK(r.status != 0);
  CHECK(contains(r.output, "--bogus-flag"));
}

TEST_CASE("--help lists every flag and the recipes, exit 0") {
  const CommandResult r = run_command(tool() + " --help");
  INFO(r.output);
  CHECK(r.status == 0);
  for (const char* flag : {"--recipe", "--data", "--epochs", "--iters", "--batch", "--lr", "--hidden", "--activation",
                           "--init", "--seed", "--dtype", "--threads", "--val-fraction", "--save", "--load",
                           "--eval-only", "--log", "--help"})
    CHECK_MESSAGE(contains(r.output, flag), flag);
  for (const char* recipe : {"notebook-mlp", "exercise-mlp", "practical-mlp"}) CHECK(contains(r.output, recipe));
  CHECK(contains(r.output, "/usr/share/datasets/fashion-mnist"));
}

TEST_CASE("bad settings: unknown recipe, --eval-only without --load, --epochs with --iters") {
  CommandResult r = run_command(tool() + " --recipe no-such-recipe");
  CHECK(r.status != 0);
  CHECK(contains(r.output, "no-such-recipe"));
  r = run_command(tool() + " --eval-only");
  CHECK(r.status != 0);
  CHECK(contains(r.output, "--load"));
  r = run_command(tool() + " --epochs 1 --iters 3");
  CHECK(r.status != 0);
  CHECK(contains(r.output, "--iters"));
  r = run_command(tool() + " --init normal:0");
  CHECK(r.status != 0);
  CHECK(contains(r.output, "normal:0"));
}

TEST_CASE("a recipe rejects the flags it would ignore, naming the recipe and the flag") {
  for (const char* recipe : {"notebook-cnn", "lenet"})
    for (const std::string flag : {"--hidden", "--activation"}) {
      const CommandResult r =
          run_command(tool() + " --recipe " + recipe + " " + flag + (flag == "--hidden" ? " 5" : " tanh"));
      INFO(r.output);
      CHECK(r.status == 1);
      CHECK(contains(r.output, "recipe '" + std::string(recipe) + "' does not take " + flag));
    }
}

TEST_CASE("the recipe line describes the network the recipe built") {
  const TempDir scratch;
  write_mnist_files(scratch.file("tiny"), 40, 10, 28, 28);
  const auto recipe_line = [&](const std::string& flags) {
    const CommandResult r = run_command(tool() + " " + flags + " --data " + scratch.file("tiny") + " --iters 1");
    INFO(r.output);
    REQUIRE(r.status == 0);
    const std::size_t begin = r.output.find("recipe ");
    REQUIRE(begin != std::string::npos);
    return r.output.substr(begin, r.output.find('\n', begin) - begin);
  };
  CHECK(contains(recipe_line("--recipe practical-mlp --hidden 8,6 --activation tanh"),
                 "recipe practical-mlp: float, 784→8 tanh→6 tanh→10, "));
  CHECK(contains(recipe_line("--recipe exercise-mlp"), "recipe exercise-mlp: double, 784→16 relu→16 relu→10 log_softmax, "));
  CHECK(contains(recipe_line("--recipe notebook-cnn"),
                 "recipe notebook-cnn: float, 784→conv2d 5760 relu→maxpool2d 1440→10, "));
}

TEST_CASE("a missing data folder is an error naming it, exit non-zero") {
  const TempDir scratch;
  const std::string missing = scratch.file("no-such-folder");
  const CommandResult r = run_command(tool() + " --data " + missing + " --iters 1");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(contains(r.output, missing));
  CHECK(contains(r.output, "train-images-idx3-ubyte"));
}

TEST_CASE("images of the wrong size for a fixed-shape recipe: error naming file and both sizes") {
  const TempDir scratch;
  write_mnist_files(scratch.file("big"), 30, 10, 32, 32);
  for (const char* recipe : {"notebook-mlp", "exercise-mlp", "practical-mlp"}) {
    const CommandResult r = run_command(tool() + " --recipe " + recipe + " --data " + scratch.file("big") + " --iters 1");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, "expects 28×28 images"));
    CHECK(contains(r.output, "32×32"));
    CHECK(contains(r.output, scratch.file("big/train-images-idx3-ubyte.gz")));
    CHECK(contains(r.output, recipe));
  }
}

TEST_CASE("train, save, log; the checkpoint loads back; another shape is an error naming it") {
  const TempDir scratch;
  const std::string data = scratch.file("tiny");
  write_mnist_files(data, 200, 50, 28, 28);
  const std::string model = scratch.file("model.npz"), log = scratch.file("log.csv");

  const CommandResult train =
      run_command(pinned_tool() + " --recipe practical-mlp --hidden 8,6 --iters 12 --batch 20 --test-every 5 --data " + data +
                  " --save " + model + " --log " + log);
  INFO(train.output);
  REQUIRE(train.status == 0);
  const double trained_accuracy = final_test_accuracy(train);
  CHECK(contains(train.output, "model saved to " + model));
  CHECK(contains(train.output, "training log written to " + log));
  CHECK(contains(train.output, "total parameters: 6404"));  // 785·8 + 9·6 + 7·10
  CHECK(contains(train.output, "dataset: MNIST-format data from " + data));

  // The checkpoint: one array per parameter, named by layer and tensor, shapes as the model.
  const NpzFile npz = load_npz(model);
  CHECK(npz.keys() == std::vector<std::string>{"layer0.dense.W", "layer2.dense.W", "layer4.dense.W"});
  CHECK(npz.at("layer0.dense.W").shape == std::vector<Index>{785, 8});
  CHECK(npz.at("layer2.dense.W").shape == std::vector<Index>{9, 6});
  CHECK(npz.at("layer4.dense.W").shape == std::vector<Index>{7, 10});
  CHECK(npz.at("layer0.dense.W").dtype == NpyDtype::Float32);
  // ... and numpy reads it.
  const CommandResult numpy = run_command("/usr/bin/python3 -c \"import numpy as np; d = np.load('" + model +
                                          "'); print(sorted(d.files), d['layer0.dense.W'].shape, "
                                          "d['layer4.dense.W'].dtype)\"");
  INFO(numpy.output);
  REQUIRE_MESSAGE(numpy.status == 0, "numpy could not read the checkpoint (needs python3-numpy)");
  CHECK(contains(numpy.output, "['layer0.dense.W', 'layer2.dense.W', 'layer4.dense.W'] (785, 8) float32"));

  // The log: a header and one row per step; the test passes at steps 5, 10 and 12.
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 13);
  CHECK(lines[0] == "step,epoch,loss,batch_accuracy,test_loss,test_accuracy,validation_loss,validation_accuracy");
  CHECK(lines[1].rfind("1,,", 0) == 0);
  CHECK(lines[4].find(",,,,") != std::string::npos);       // step 4: no test pass
  CHECK(lines[5].find(",,,,") == std::string::npos);       // step 5: a test pass
  CHECK(lines[12].rfind("12,,", 0) == 0);

  SUBCASE("--load --eval-only of the same model gives the same test accuracy") {
    const CommandResult eval =
        run_command(pinned_tool() + " --recipe practical-mlp --hidden 8,6 --data " + data + " --load " + model + " --eval-only");
    INFO(eval.output);
    REQUIRE(eval.status == 0);
    CHECK(final_test_accuracy(eval) == trained_accuracy);
    CHECK(contains(eval.output, "loaded parameters from " + model));
  }
  SUBCASE("a checkpoint of another shape: error naming the file, the parameter and both shapes") {
    const CommandResult eval =
        run_command(pinned_tool() + " --recipe practical-mlp --data " + data + " --load " + model + " --eval-only");
    INFO(eval.output);
    CHECK(eval.status == 1);
    CHECK(contains(eval.output, model));
    CHECK(contains(eval.output, "layer0.dense.W"));
    CHECK(contains(eval.output, "785×64"));
    CHECK(contains(eval.output, "785×8"));
    CHECK(contains(eval.output, "must come from the same model"));  // the hint, for a real mismatch
  }
  SUBCASE("a file that is not a checkpoint: error naming it") {
    const std::string junk = scratch.file("junk.npz");
    std::ofstream(junk) << "not a zip archive";
    const CommandResult eval = run_command(pinned_tool() + " --data " + data + " --load " + junk + " --eval-only");
    INFO(eval.output);
    CHECK(eval.status == 1);
    CHECK(contains(eval.output, junk));
    CHECK_FALSE(contains(eval.output, "must come from the same model"));  // not a mismatch
  }
  SUBCASE("the same seed gives the same run; a diverging run stops with exit 2") {
    const CommandResult again =
        run_command(pinned_tool() + " --recipe practical-mlp --hidden 8,6 --iters 12 --batch 20 --test-every 5 --data " + data);
    CHECK(final_test_accuracy(again) == trained_accuracy);
    const CommandResult diverged =
        run_command(pinned_tool() + " --recipe practical-mlp --hidden 8,6 --iters 50 --lr 1e30 --data " + data);
    INFO(diverged.output);
    CHECK(diverged.status == 2);
    CHECK(contains(diverged.output, "training diverged at step"));
  }
}

TEST_CASE("all three recipes run on a small MNIST-format set and end with the accuracy line") {
  const TempDir scratch;
  write_mnist_files(scratch.file("tiny"), 100, 20, 28, 28);
  for (const char* recipe : {"notebook-mlp", "exercise-mlp", "practical-mlp"}) {
    const CommandResult r =
        run_command(tool() + " --recipe " + recipe + " --data " + scratch.file("tiny") + " --epochs 1 --val-fraction 0.2");
    INFO(r.output);
    CHECK(r.status == 0);
    const double accuracy = final_test_accuracy(r);
    CHECK(accuracy >= 0);
    CHECK(accuracy <= 100);
    CHECK(contains(r.output, "training on 80 samples (validation 20, test 20)"));
    CHECK(contains(r.output, "val acc"));
  }
}

TEST_CASE("without --data and without MNIST it trains on Debian's Fashion-MNIST and says so") {
  REQUIRE_MESSAGE(fs::exists("/usr/share/datasets/fashion-mnist"),
                  "apt-get install dataset-fashion-mnist (the tool's offline default)");
  REQUIRE_MESSAGE(!fs::exists("/usr/share/datasets/mnist"), "this machine has MNIST in a default location");
  const TempDir scratch;
  const std::string home = scratch.path().string();
  const CommandResult r =
      run_command("cd " + home + " && env -u EIGENNET_MNIST_DIR HOME=" + home + " " + tool() + " --iters 1 --test-every 0");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(contains(r.output, "dataset: Fashion-MNIST from /usr/share/datasets/fashion-mnist"));
  final_test_accuracy(r);
}

TEST_CASE("bad values the tool used to accept: negative std, a batch larger than the data, nowhere to save") {
  const TempDir scratch;
  const std::string data = scratch.file("data");
  write_mnist_files(data, 50, 20, 28, 28);
  const std::string run_on_data = tool() + " --recipe practical-mlp --data " + data;
  const std::string base = run_on_data + " --epochs 1";

  SUBCASE("--init normal:0,-1 is refused, as numpy's normal refuses a negative scale") {
    const CommandResult r = run_command(base + " --init normal:0,-1");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, "scale (std) must be ≥ 0, got -1"));
    CHECK_FALSE(contains(r.output, "test accuracy"));
  }
  SUBCASE("a batch larger than the training set: a note of what the run does with it") {
    CommandResult r = run_command(base + " --batch 51");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(contains(r.output, "note: the batch (51) is larger than the training set (50 samples): each epoch is one "
                             "step over the whole set"));
    r = run_command(run_on_data + " --batch 51 --batch-rule random --iters 2");
    CHECK(r.status == 0);
    CHECK(contains(r.output, "each step draws the batch from it with replacement"));
    CHECK_FALSE(contains(run_command(base + " --batch 50").output, "note: the batch"));
    r = run_command(run_on_data + " --batch 51 --first-batch --iters 2");  // the first 51 of 50: impossible
    CHECK(r.status == 1);
    CHECK(contains(r.output, "first-B rule needs batch size 51"));
  }
  SUBCASE("--save and --log into a missing folder fail before any data is read or training starts") {
    for (const char* flag : {"--save", "--log"}) {
      CAPTURE(flag);
      const std::string target = scratch.file("no-such-folder/out.file");
      const CommandResult r = run_command(base + " " + flag + " " + target);
      INFO(r.output);
      CHECK(r.status == 1);
      CHECK(contains(r.output, std::string(flag) + " " + target + ": the folder " + scratch.file("no-such-folder") +
                                   " does not exist"));
      CHECK_FALSE(contains(r.output, "dataset:"));  // nothing was loaded, nothing trained
    }
    const CommandResult r = run_command(base + " --save " + scratch.path().string());
    CHECK(r.status == 1);
    CHECK(contains(r.output, "is a folder, not a file name"));
  }
  SUBCASE("--load of an unreadable file: the reader's error, without the same-model hint") {
    const std::string empty = scratch.file("empty.npz");
    std::ofstream(empty).close();
    const CommandResult r = run_command(base + " --load " + empty);
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(contains(r.output, empty));
    CHECK_FALSE(contains(r.output, "must come from the same model"));
  }
}

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The largest |a − b| / max|a| over the arrays of two checkpoints with the same names.
double checkpoint_difference(const std::string& a_path, const std::string& b_path) {
  const NpzFile a = load_npz(a_path), b = load_npz(b_path);
  REQUIRE(a.keys() == b.keys());
  double worst = 0;
  for (const std::string& key : a.keys()) {
    const Matrix<double> x = a.at(key).to_matrix<double>(), y = b.at(key).to_matrix<double>();
    REQUIRE(x.rows() == y.rows());
    REQUIRE(x.cols() == y.cols());
    worst = std::max(worst, (x - y).cwiseAbs().maxCoeff() / x.cwiseAbs().maxCoeff());
  }
  return worst;
}

}  // namespace

// The same command with the same seed gives the same bytes, run after run, for each thread
// setting. Across settings the runs agree to float rounding but not bit for bit: with two
// threads gemm() splits each product's rows over the threads, and Eigen's kernel blocks the
// inner dimension by the size of the part it gets, so sums are grouped differently;
// --data-parallel sums the gradients of the two halves of each batch. Measured on Fashion-MNIST
// after one epoch of practical-mlp: 9e-7 (two threads) and 8e-7 (data-parallel) relative to the
// largest weight, the same test accuracy.
// The planner (the default) may choose another kernel in another run; a pinned kernel may not.
TEST_CASE("repeatable runs: with a pinned GEMM kernel the same command gives bit-identical checkpoints and logs") {
  const TempDir scratch;
  const std::string data = scratch.file("data");
  write_mnist_files(data, 400, 50, 28, 28);
  const auto train = [&](const std::string& name, const std::string& flags) {
    const CommandResult r = run_command("EIGENNET_GEMM=eigen " + tool() + " --recipe practical-mlp --epochs 2 --data " + data + " " +
                                        flags + " --save " + scratch.file(name + ".npz") + " --log " +
                                        scratch.file(name + ".csv"));
    INFO(r.output);
    REQUIRE(r.status == 0);
  };
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"one", "--seed 3 --threads 1"}, {"two", "--seed 3 --threads 2"}, {"dp", "--seed 3 --threads 2 --data-parallel"}};
  for (const auto& [name, flags] : settings) {
    CAPTURE(flags);
    train(name + "-a", flags);
    train(name + "-b", flags);
    CHECK(file_bytes(scratch.file(name + "-a.npz")) == file_bytes(scratch.file(name + "-b.npz")));
    CHECK(file_bytes(scratch.file(name + "-a.csv")) == file_bytes(scratch.file(name + "-b.csv")));
  }
  const double two_threads = checkpoint_difference(scratch.file("one-a.npz"), scratch.file("two-a.npz"));
  const double data_parallel = checkpoint_difference(scratch.file("one-a.npz"), scratch.file("dp-a.npz"));
  MESSAGE("largest weight difference from --threads 1: --threads 2 " << two_threads << ", --data-parallel "
                                                                     << data_parallel);
  CHECK(two_threads < 1e-4);
  CHECK(data_parallel < 1e-4);
  // A different seed is a different run (so the equalities above mean something).
  train("seed", "--threads 1 --seed 4");
  CHECK(checkpoint_difference(scratch.file("one-a.npz"), scratch.file("seed.npz")) > 1e-2);
}

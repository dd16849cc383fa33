// The tools' --device flags (train-mnist --device cpu|cuda|auto, gradcheck --device cuda) as a
// user meets them: the device in use is named in the first lines; --device cuda where the GPU
// cannot run the job (its layers or update, a build without CUDA, no GPU or driver) exits
// non-zero naming why, and nothing crashes; --device auto then trains on the CPU and says why.
// Where a GPU answers, the GPU runs are checked instead. Runs on a small generated dataset.
#include <doctest/doctest.h>

#include "eigennet/cuda/device.hpp"
#include "support/mnist_files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// 200 training and 50 test images of 28×28 in MNIST's files.
std::string small_dataset(const TempDir& dir) {
  const std::string data = (dir.path() / "data").string();
  write_mnist_files(data, 200, 50, 28, 28);
  return data;
}

}  // namespace

TEST_CASE("train-mnist --device: cpu, cuda and auto say which device; what the GPU cannot run is named") {
  const TempDir dir;
  const std::string train = require_env("EIGENNET_TRAIN_MNIST") + " --data " + small_dataset(dir) + " --iters 3";
  const cuda::DeviceInfo& gpu = cuda::query_device();

  const CommandResult cpu = run_command(train + " --device cpu");
  INFO(cpu.output);
  CHECK(cpu.status == 0);
  CHECK(contains(cpu.output, "\ndevice: CPU\n"));

  const CommandResult conv = run_command(train + " --recipe lenet --device cuda");
  CHECK(conv.status == 1);
  CHECK(contains(conv.output, "--device cuda: "));
  CHECK(contains(conv.output, cuda::built_with_cuda() ? "layer0 (conv2d" : "built without CUDA"));

  const CommandResult adam = run_command(train + " --optimizer adam --device cuda");
  CHECK(adam.status == 1);
  CHECK(contains(adam.output, cuda::built_with_cuda() ? "the optimizer has no device version" : "built without CUDA"));

  const CommandResult tf32 = run_command(train + " --tf32");
  CHECK(tf32.status == 1);
  CHECK(contains(tf32.output, "--tf32 applies to training on the GPU"));

  const CommandResult on_cuda = run_command(train + " --device cuda");
  const CommandResult on_auto = run_command(train + " --device auto");
  INFO(on_cuda.output);
  INFO(on_auto.output);
  if (gpu.available) {
    CHECK(on_cuda.status == 0);
    CHECK(contains(on_cuda.output, "device: GPU " + gpu.name));
    CHECK(contains(on_auto.output, "device: GPU " + gpu.name));
  } else {
    CHECK(on_cuda.status == 1);
    CHECK(contains(on_cuda.output, "train-mnist: error: --device cuda: "));
    CHECK(contains(on_cuda.output, gpu.reason));
    CHECK(!contains(on_cuda.output, "test accuracy"));
    CHECK(on_auto.status == 0);
    CHECK(contains(on_auto.output, "device: CPU (--device auto: "));
    CHECK(contains(on_auto.output, "test accuracy: "));
  }
}

TEST_CASE("gradcheck --device cuda: the GPU's backward, or an error naming why there is none") {
  const std::string gradcheck = require_env("EIGENNET_GRADCHECK");
  const cuda::DeviceInfo& gpu = cuda::query_device();
  const CommandResult list = run_command(gradcheck + " --device cuda --list");
  CHECK(list.status == 0);
  CHECK(contains(list.output, "model  notebook-mlp"));
  CHECK(!contains(list.output, "conv2d"));  // the device has no convolution

  const CommandResult r = run_command(gradcheck + " --device cuda --model notebook-mlp --layer relu");
  INFO(r.output);
  if (gpu.available) {
    CHECK(r.status == 0);
    CHECK(contains(r.output, "device vs host"));
    CHECK(contains(r.output, "all gradients agree"));
  } else {
    CHECK(r.status == 2);
    CHECK(contains(r.output, "gradcheck: --device cuda: no GPU: " + gpu.reason));
  }
}

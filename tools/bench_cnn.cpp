// bench-cnn: times eigennet's CNN training step (the notebook's CNN, or the lenet recipe's
// network) and prints one JSON line. tools/bench_cnn.py runs it beside the same step in
// PyTorch (CPU, same shapes, same thread count) and prints the ratio.
//
// A step: draw the batch indices (randint with replacement, as the notebook), gather the rows,
// forward, softmax cross-entropy, backward, SGD update; the loss is checked for NaN/Inf.
// Timing: `warmup` steps, then `blocks` blocks of `steps` steps each; the JSON line holds every
// block's ms/step and their median. Inputs are random (normal(0, 1), fixed seed): a step's cost
// does not depend on the pixel values.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "dtype.hpp"

using namespace eigennet;

namespace {

// The notebook's CNN: conv 5×5 1→10 → ReLU → max-pool 2 (ceil) → dense 1440→10.
template <typename Scalar>
void build_notebook(Network<Scalar>& net, RandomState& rng) {
  auto& conv = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 28, 28}, 10, 5);
  initialize(conv, rng, {InitScheme::Normal, 0, 0.01});
  net.template emplace<Relu<Scalar>>(conv.output_size());
  auto& pool = net.template emplace<MaxPool2d<Scalar>>(conv.output_shape(), 2, 2, 0, true);
  initialize(net.template emplace<Dense<Scalar>>(pool.output_size(), 10), rng, {InitScheme::Normal, 0, 0.01});
}

// The lenet recipe's network (tools/recipes_cnn.cpp): conv 5×5 1→20 → ReLU → pool 2 → conv 5×5
// 20→50 → ReLU → pool 2 → dense 800→500 → ReLU → dense 500→10.
template <typename Scalar>
void build_lenet(Network<Scalar>& net, RandomState& rng) {
  auto& conv1 = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 28, 28}, 20, 5);
  rng.fill_normal(conv1.weights(), 0, 0.1);
  net.template emplace<Relu<Scalar>>(conv1.output_size());
  auto& pool1 = net.template emplace<MaxPool2d<Scalar>>(conv1.output_shape(), 2);
  auto& conv2 = net.template emplace<Conv2d<Scalar>>(pool1.output_shape(), 50, 5);
  rng.fill_normal(conv2.weights(), 0, 0.05);
  net.template emplace<Relu<Scalar>>(conv2.output_size());
  auto& pool2 = net.template emplace<MaxPool2d<Scalar>>(conv2.output_shape(), 2);
  initialize(net.template emplace<Dense<Scalar>>(pool2.output_size(), 500), rng, {InitScheme::He});
  net.template emplace<Relu<Scalar>>(500);
  initialize(net.template emplace<Dense<Scalar>>(500, 10), rng, {InitScheme::He});
}

template <typename Scalar>
int run(const std::string& model, Index batch, Index warmup, Index steps, Index blocks, std::uint32_t seed) {
  RandomState rng(seed);
  Network<Scalar> net;
  if (model == "notebook")
    build_notebook(net, rng);
  else
    build_lenet(net, rng);
  const Index pool_size = 4096;  // samples the batches are drawn from
  Matrix<Scalar> x(pool_size, 784);
  rng.fill_normal(x, 0, 1);
  Labels labels(pool_size), indices(batch), batch_labels(batch);
  rng.randint(0, 10, labels);
  Matrix<Scalar> batch_x(batch, 784);
  net.reserve(batch);
  SoftmaxCrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(net.parameters(), 0.01);

  auto step = [&] {
    rng.randint(0, std::int32_t(pool_size), indices);
    for (Index i = 0; i < batch; ++i) {
      batch_x.row(i) = x.row(indices(i));
      batch_labels(i) = labels(indices(i));
    }
    const Scalar value = net.forward_backward(batch_x, batch_labels, loss);
    if (!std::isfinite(double(value))) {
      std::fprintf(stderr, "bench-cnn: loss is %g: diverged\n", double(value));
      std::exit(1);
    }
    sgd.step();
  };
  for (Index i = 0; i < warmup; ++i) step();
  std::vector<double> ms;
  for (Index b = 0; b < blocks; ++b) {
    const auto start = std::chrono::steady_clock::now();
    for (Index i = 0; i < steps; ++i) step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
                 double(steps));
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"impl\": \"eigennet\", \"model\": \"%s\", \"dtype\": \"%s\", \"batch\": %lld, \"threads\": %d, "
              "\"gemm_backend\": \"%s\", \"parameters\": %lld, \"ms_per_step_median\": %.4f, "
              "\"ms_per_step_blocks\": [",
              model.c_str(), tools::numpy_dtype_name(tools::dtype_of<Scalar>()), (long long)batch, thread_count(),
              gemm_backend_name(), (long long)net.parameter_count(), sorted[sorted.size() / 2]);
  for (std::size_t i = 0; i < ms.size(); ++i) std::printf("%s%.4f", i ? ", " : "", ms[i]);
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-cnn: ms per training step of eigennet's notebook CNN (or lenet); one JSON line. "
               "tools/bench_cnn.py puts it beside PyTorch."};
  std::string model = "notebook", dtype = "float32";
  Index batch = 40, warmup = 10, steps = 50, blocks = 7;
  int threads = 1;
  std::uint32_t seed = 0;
  app.add_option("--model", model, "notebook or lenet")->check(CLI::IsMember({"notebook", "lenet"}))->capture_default_str();
  app.add_option("--dtype", dtype, "float32 (float) or float64 (double)")
      ->check(CLI::IsMember(tools::dtype_spellings()))
      ->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "threads (GEMM and per-sample loops)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--steps", steps, "steps per timed block")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--blocks", blocks, "timed blocks")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "seed of weights, inputs and batch draws")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  set_thread_count(threads);
  try {
    return tools::with_dtype(tools::parse_dtype(dtype), [&](auto tag) {
      return run<decltype(tag)>(model, batch, warmup, steps, blocks, seed);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-cnn: error: %s\n", e.what());
    return 1;
  }
}

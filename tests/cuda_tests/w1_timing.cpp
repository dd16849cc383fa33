// A small timing for the GPU machine (tools/cuda/device-check.sh runs it): W1 — 784→1000 ReLU→10,
// batch 40, float32, SGD, softmax-cross-entropy — device steps per second with the step replayed
// as a CUDA graph and launched directly; and the host-pointer GEMM backend against the CPU at a
// few square sizes, to place its crossover. Synthetic data (no dataset needed). Not a test.
#include <chrono>
#include <cstdio>

#include "eigennet/cuda/device_network.hpp"
#include "eigennet/data/batching.hpp"
#include "eigennet/eigennet.hpp"

using namespace eigennet;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double w1_steps_per_second(bool graph, int steps) {
  RandomState rng(0);
  Network<float> net;
  net.emplace<Dense<float>>(784, 1000);
  net.emplace<Relu<float>>(1000);
  net.emplace<Dense<float>>(1000, 10);
  for (auto& p : net.parameters()) rng.fill_normal(*p.value, 0, 0.01);
  Matrix<float> x(10000, 784);
  rng.fill_uniform(x, 0, 1);
  Labels labels(10000);
  for (Index i = 0; i < labels.size(); ++i) labels(i) = std::int32_t(i % 10);

  cuda::DeviceOptions options;
  options.max_batch = 40;
  options.optimizer.learning_rate = 0.01;
  options.graph = graph;
  options.step_log = steps + 64;  // no fetch of the step log (a wait) inside the timed steps
  cuda::DeviceNetwork<float> device(net, options);
  device.set_training_set(x, labels);
  BatchSampler sampler(x.rows(), 40, BatchRule::WithReplacement, rng);
  for (int i = 0; i < 50; ++i) device.step(sampler.next());  // warm-up (and the graph's capture)
  device.synchronize();
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) device.step(sampler.next());
  device.synchronize();
  const double rate = steps / seconds_since(start);
  std::printf("  loss after %d steps: %.4f\n", steps + 50, double(device.loss()));
  return rate;
}

// Median-free, simple: the best of 5 runs of one product.
double best_gemm_seconds(Index size) {
  Matrix<float> a = Matrix<float>::Random(size, size), b = Matrix<float>::Random(size, size), c(size, size);
  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    const auto start = Clock::now();
    gemm<float>(Op::None, Op::None, 1, a, b, 0, c);
    best = std::min(best, seconds_since(start));
  }
  return best;
}

}  // namespace

int main() {
  const cuda::DeviceInfo& info = cuda::query_device();
  if (!info.available) {
    std::printf("no CUDA device: %s\n", info.reason.c_str());
    return 77;
  }
  std::printf("device: %s\n", info.name.c_str());
  std::printf("W1 (784→1000→10, batch 40, float32, SGD), device-resident:\n");
  const double graph = w1_steps_per_second(true, 5000);
  const double direct = w1_steps_per_second(false, 2000);
  std::printf("W1 steps/s  CUDA graph: %.0f   direct launches: %.0f   (issue 11 anchor, PyTorch graph on H200: 9132)\n",
              graph, direct);

  std::printf("host-pointer GEMM (float, n×n·n×n), best of 5, CPU (built-in, %d threads) vs cuda_gemm_backend(0):\n",
              thread_count());
  const std::shared_ptr<GemmBackend> gpu = cuda_gemm_backend(0.0);
  for (Index size : {64, 128, 256, 512, 1024, 2048}) {
    set_gemm_backend(nullptr);
    const double cpu_s = best_gemm_seconds(size);
    set_gemm_backend(gpu);
    const double gpu_s = best_gemm_seconds(size);
    set_gemm_backend(nullptr);
    std::printf("  n=%5lld  2n³=%.2e flop  cpu %9.1f µs  gpu %9.1f µs  %s\n", static_cast<long long>(size),
                2.0 * double(size) * size * size, cpu_s * 1e6, gpu_s * 1e6, gpu_s < cpu_s ? "gpu faster" : "cpu faster");
  }
  return 0;
}

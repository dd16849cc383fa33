// cuda-gemm-bound: the GEMM-only bound of an MLP training step on the GPU, measured with cuBLAS.
//
// The GPU counterpart of gemm-bound (gemm_bound.cpp): it times exactly the products that
// cuda::DeviceNetwork performs in one training step of the same MLP (src/cuda/device_network.cpp),
// with the same row-major layouts and transpositions, through the library's own cuBLAS call
// (detail::gemm_rows, src/cuda/runtime.hpp) on a context like DeviceNetwork's, and nothing else:
// no gather, bias row, ReLU, softmax or update. Per dense layer in→out, batch B:
//
//   forward    Y[B×out]  = X[B×in] · W[in×out]        (NN, beta 1: Y holds the bias rows)
//   backward   dW[in×out] = Xᵀ · dY[B×out]            (TN, beta 0)
//              dX[B×in]  = dY · Wᵀ                     (NT, beta 0; not for the first layer)
//
// The step's products are captured once in a CUDA graph (as DeviceNetwork captures its whole
// step) and replayed; a timed block ends with cudaStreamSynchronize. --no-graph launches them
// directly instead. cuBLAS's default math (no TF32) unless --tf32, as DeviceNetwork.
//
// It takes the same flags as eigennet-bench and prints one JSON line of the same form. Without a
// usable GPU it exits 1 with query_device()'s reason.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/cuda/device.hpp"
#include "json_line.hpp"
#include "layer_sizes.hpp"
#include "runtime.hpp"  // src/cuda: Context, DeviceArray, gemm_rows

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<long> layers{784, 1000, 10};
  long batch = 40;
  std::string dtype = "float32";
  std::string rule = "random";
  int warmup = 5, steps = 50, blocks = 7, threads = 1;
  long samples = 60000;  // training-set size (rule epochs: steps per block = ceil(samples/batch))
  bool graph = true;
  bool tf32 = false;
};

using eigennet::Index;
using eigennet::Op;
using eigennet::cuda::detail::check_cuda;
using eigennet::cuda::detail::Context;
using eigennet::cuda::detail::DeviceArray;
using eigennet::cuda::detail::gemm_rows;

// A device buffer filled with uniform values in [-0.5, 0.5).
template <typename Scalar>
DeviceArray<Scalar> random_buffer(std::size_t count, std::mt19937& gen) {
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  std::vector<Scalar> host(count);
  for (auto& e : host) e = Scalar(uniform(gen));
  DeviceArray<Scalar> buffer(count, "cuda-gemm-bound operand");
  check_cuda(cudaMemcpy(buffer.data(), host.data(), count * sizeof(Scalar), cudaMemcpyHostToDevice), "cudaMemcpy");
  return buffer;
}

template <typename Scalar>
struct LayerBuffers {
  Index in, out;
  DeviceArray<Scalar> x, w, y, dy, dw, dx;
  LayerBuffers(Index in_, Index out_, Index b, std::mt19937& gen)
      : in(in_), out(out_), x(random_buffer<Scalar>(b * in, gen)), w(random_buffer<Scalar>((in + 1) * out, gen)),
        y(random_buffer<Scalar>(b * out, gen)), dy(random_buffer<Scalar>(b * out, gen)),
        dw(random_buffer<Scalar>((in + 1) * out, gen)), dx(random_buffer<Scalar>(b * in, gen)) {}
};

template <typename Scalar>
int run(const Options& o) {
  std::mt19937 gen(1);
  std::vector<std::unique_ptr<LayerBuffers<Scalar>>> layers;
  for (std::size_t i = 0; i + 1 < o.layers.size(); ++i)
    layers.push_back(std::make_unique<LayerBuffers<Scalar>>(o.layers[i], o.layers[i + 1], o.batch, gen));

  // DeviceNetwork's context: its own stream, cuBLAS handle and 32 MiB workspace, TF32 only if asked.
  const Context context(true, o.tf32);
  const cudaStream_t stream = context.stream();
  auto step = [&](Index b) {
    for (auto& l : layers)
      gemm_rows(context, Op::None, Op::None, b, l->out, l->in, Scalar(1), l->x.data(), l->in, l->w.data(), l->out,
                Scalar(1), l->y.data(), l->out);
    for (std::size_t i = layers.size(); i-- > 0;) {
      auto& l = *layers[i];
      gemm_rows(context, Op::Transpose, Op::None, l.in, l.out, b, Scalar(1), l.x.data(), l.in, l.dy.data(), l.out,
                Scalar(0), l.dw.data(), l.out);
      if (i > 0)
        gemm_rows(context, Op::None, Op::Transpose, b, l.in, l.out, Scalar(1), l.dy.data(), l.out, l.w.data(), l.out,
                  Scalar(0), l.dx.data(), l.in);
    }
  };

  const bool epochs = o.rule == "epochs";
  const long full_steps = epochs ? o.samples / o.batch : o.steps;
  const long rest = epochs ? o.samples % o.batch : 0;  // the smaller last batch of an epoch
  // One step directly first (loads the kernels, outside any capture), then one graph per batch size.
  step(o.batch);
  if (rest > 0) step(rest);
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize after the first step");
  cudaGraphExec_t full_graph = nullptr, rest_graph = nullptr;
  auto capture = [&](long b) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    step(b);
    check_cuda(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    check_cuda(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    cudaGraphDestroy(graph);
    return exec;
  };
  if (o.graph) {
    full_graph = capture(o.batch);
    if (rest > 0) rest_graph = capture(rest);
  }
  auto launch = [&](long b) {
    if (!o.graph) return step(b);
    check_cuda(cudaGraphLaunch(b == o.batch ? full_graph : rest_graph, stream), "cudaGraphLaunch");
  };
  for (int i = 0; i < o.warmup; ++i) launch(o.batch);
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize after the warm-up");

  std::vector<double> seconds;
  for (int blk = 0; blk < o.blocks; ++blk) {
    const auto start = Clock::now();
    for (long s = 0; s < full_steps; ++s) launch(o.batch);
    if (rest > 0) launch(rest);
    check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize after a timed block");
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long steps_per_block = full_steps + (rest > 0 ? 1 : 0);
  int version = 0;
  cublasGetVersion(context.cublas(), &version);
  if (full_graph) cudaGraphExecDestroy(full_graph);
  if (rest_graph) cudaGraphExecDestroy(rest_graph);

  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"cublas-gemm\", \"threads\": " << o.threads << ", \"dtype\": \"" << o.dtype
      << "\", \"gemm\": \"cuBLAS " << version << (o.tf32 ? " TF32" : "") << (o.graph ? ", graph" : ", direct launches")
      << "\", \"device\": \"" << eigennet::cuda::query_device().name << "\", ";
  bench::write_blocks(out, steps_per_block, seconds);
  out << ", \"maxrss_kb\": " << bench::maxrss_kb() << ", \"data\": \"random\"}";
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "784,1000,10", data_dir, device = "cuda", gemm_name;
  double lr = 0.01;
  unsigned seed = 0;
  bool random_data = false;
  CLI::App app{"cuda-gemm-bound: cuBLAS time of exactly the GEMMs of an MLP training step, captured in a CUDA graph "
               "(tools/bench/README.md)"};
  app.add_option("--layers", layers, "layer sizes")->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dtype", o.dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  app.add_option("--rule", o.rule, "random, or epochs (a block = ceil(samples/batch) steps)")
      ->check(CLI::IsMember({"random", "epochs"}))->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first (after one direct step and the capture)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--steps", o.steps, "steps per timed block (rule random)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--blocks", o.blocks, "timed blocks")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--samples", o.samples, "training-set size for rule epochs")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--no-graph{false}", o.graph, "launch the products directly instead of replaying a CUDA graph");
  app.add_flag("--tf32", o.tf32, "TensorFloat-32 in float32 products (CUBLAS_TF32_TENSOR_OP_MATH)");
  // Accepted so that every implementation takes the same command line; they do not change the GEMMs.
  app.add_option("--threads", o.threads, "(ignored: the GPU)");
  app.add_option("--device", device, "(ignored: always the GPU)");
  app.add_option("--lr", lr, "(ignored: no update here)");
  app.add_option("--seed", seed, "(ignored)");
  app.add_option("--data", data_dir, "(ignored: the bound runs on random matrices)");
  app.add_flag("--random-data", random_data, "(ignored)");
  app.add_option("--gemm", gemm_name, "(ignored)");
  CLI11_PARSE(app, argc, argv);

  try {
    o.layers = bench::parse_layer_sizes(layers);
  } catch (const std::invalid_argument& e) {
    std::cerr << "cuda-gemm-bound: " << e.what() << "\n";
    return 1;
  }
  const eigennet::cuda::DeviceInfo& info = eigennet::cuda::query_device();
  if (!info.available) {
    std::cerr << "cuda-gemm-bound: no usable GPU: " << info.reason << "\n";
    return 1;
  }
  try {
    return o.dtype == "float64" ? run<double>(o) : run<float>(o);
  } catch (const std::exception& e) {
    std::cerr << "cuda-gemm-bound: " << e.what() << "\n";
    return 1;
  }
}

// eigennet-bench: times eigennet training steps of an MLP (dense layers with ReLU between them,
// softmax cross-entropy, plain SGD) and prints ONE JSON line: the seconds of each timed block,
// the heap allocations per step after warm-up, and the peak memory (maxrss) of the run.
//
// It is one of the programs that tools/bench/run.py runs side by side; the PyTorch and numpy
// peers (peer_torch.py, peer_numpy.py) and the OpenBLAS GEMM-only bound (gemm-bound) take the
// same flags, so every implementation runs the same workload:
//
//   eigennet-bench --layers 784,1000,10 --batch 40 --dtype float32 --rule random
//                  --warmup 5 --steps 50 --blocks 7 --threads 2 --data /path/to/mnist
//
// A step is: next batch indices (numpy's randint with replacement, or a shuffled epoch), gather
// the rows, forward, loss (checked for NaN/Inf), backward, SGD update. With --rule epochs a
// block is one whole epoch (a fresh permutation of the training set, then every batch of it).
//
// --device cuda (builds with -Dcuda): the same step on the GPU through cuda::DeviceNetwork — the
// training set uploaded once, the batch indices drawn on the host by the same BatchSampler and
// uploaded each step, the whole step replayed as one CUDA graph (--no-graph: direct launches);
// a timed block ends with synchronize(), so it counts the device's work. The loss is checked on
// the device every step and read at each block's end. Where no GPU answers it exits 1 with
// query_device()'s reason.
// --gemm chooses the CPU kernels (plan.hpp): eigen / openblas / onednn pin one for every product,
// auto / all let the planner measure each product on its first call; the JSON line then carries
// the plan (which kernel each product got, and the microseconds each candidate took), from which
// run.py prints the planner's choice per product.
// --precision bf16 (float32 only): set_gemm_precision(GemmPrecision::Bf16) before the run, so the
// float products run on bf16 operands with float32 accumulation (master weights stay float32).
// Where this build or CPU has no bf16 it exits 1 with the reason (tools/precision.hpp).
// --gemm cuda: the CPU training loop with the host-pointer backend: cuda_gemm_backend(), which
// measures per product whether the GPU (copies included) or the CPU is faster, or with
// --cuda-min-flops X cuda_gemm_backend(X): products of at least X flops on the GPU. The JSON line
// says how many of the timed steps' products ran on the GPU (device_products_per_step).
//
// Exit codes: 0 ok; 1 bad input (data not found, shapes) or no usable GPU for --device cuda /
// --gemm cuda; 2 training diverged; CLI11's codes for a bad command line.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "eigennet/threads.hpp"
#include "json_line.hpp"
#include "layer_sizes.hpp"
#include "eigennet/train/data_parallel.hpp"
#include "eigennet/data/batching.hpp"
#include "eigennet/data/error.hpp"
#include "eigennet/data/mnist.hpp"
#include "eigennet/data/preprocess.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/gemm/gemm.hpp"
#include "eigennet/model/init.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/train/train.hpp"
#include "eigennet/layers/relu.hpp"
#include "eigennet/cuda/device.hpp"
#ifdef EIGENNET_HAVE_CUDA
#include "eigennet/cuda/device_network.hpp"
#endif
#include "../dtype.hpp"
#include "../precision.hpp"
// Every malloc-family call of the process is counted (also std::vector, std::string and OpenMP,
// not only Eigen): the test suite's counter, one implementation for both.
#include "support/malloc_counter.hpp"

using namespace eigennet;

namespace {

using Clock = std::chrono::steady_clock;

// A step's loss was NaN or ±Inf (exit code 2).
class Diverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::vector<Index> layers{784, 1000, 10};
  Index batch = 40;
  std::string dtype = "float32";
  std::string rule = "random";  // random (with replacement) | epochs (shuffled epochs)
  double learning_rate = 0.01;
  int warmup = 5;   // untimed steps first
  int steps = 50;   // steps per timed block (rule random)
  int blocks = 7;   // timed blocks
  int threads = 1;
  std::string data_dir;  // empty: EIGENNET_MNIST_DIR, then the data layer's default folders
  bool random_data = false;
  unsigned seed = 0;
  std::string gemm = "default";
  std::string precision = "float32";  // float32 | bf16 (float products on bf16 operands, float32 accumulation)
  bool data_parallel = false;  // split the batch over replicas (DataParallel) instead of each product
  std::string device = "cpu";  // cpu | cuda (DeviceNetwork)
  bool graph = true;           // --device cuda: replay the step as a CUDA graph (--no-graph: direct launches)
  double cuda_min_flops = -1;  // --gemm cuda: the backend's fixed crossover (< 0: measured per product)
};

// The training inputs (N×D pixels, read as pixel / 255 while each batch is gathered, as
// train-mnist reads them) and labels; random bytes of MNIST's shape on request.
template <typename Scalar>
struct TrainingSet {
  PixelMatrix pixels;
  Labels labels;
  std::string source;
  ByteRows<Scalar> rows() const { return unit_scale_rows<Scalar>(pixels); }
};

template <typename Scalar>
TrainingSet<Scalar> load_training_set(const Options& o) {
  TrainingSet<Scalar> set;
  const Index features = o.layers.front(), classes = o.layers.back();
  if (o.random_data) {
    RandomState rng(o.seed + 1);
    Matrix<float> uniform(60000, features);
    rng.fill_uniform(uniform, 0.0, 1.0);
    set.pixels = (uniform.array() * 255.0f + 0.5f).cast<std::uint8_t>();
    set.labels.resize(60000);
    rng.randint(0, static_cast<std::int32_t>(classes), set.labels);
    set.source = "random";
    return set;
  }
  std::string dir = o.data_dir;
  if (dir.empty()) {
    const MnistDirSearch search = find_mnist_dir();
    if (!search.found())
      throw DataError("MNIST not found; set EIGENNET_MNIST_DIR, pass --data DIR, or use --random-data. Searched:\n" +
                      search.report());
    dir = search.directory;
  }
  MnistData mnist = load_mnist(dir);
  if (mnist.train.pixels.cols() != features)
    throw std::invalid_argument("--layers starts with " + std::to_string(features) + " inputs but the images of " +
                                mnist.train.images_path + " have " + std::to_string(mnist.train.pixels.cols()) +
                                " pixels");
  if (classes < 10)
    throw std::invalid_argument("--layers ends with " + std::to_string(classes) + " outputs; MNIST has 10 classes");
  set.pixels = std::move(mnist.train.pixels);
  set.labels = mnist.train.labels;
  set.source = "mnist:" + mnist.directory;
  return set;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// , "allocations": A, "allocations_per_step": A / timed_steps — heap allocations in the timed
// steps, or null where this build does not count them (support/malloc_counter.hpp).
void write_allocations(std::ostream& out, long allocated, long timed_steps) {
  out << ", \"allocations\": ";
  if (eigennet_test::counts_allocations)
    out << allocated << ", \"allocations_per_step\": " << double(allocated) / double(timed_steps);
  else
    out << "null, \"allocations_per_step\": null";
}

// The planner's entries (gemm_plan()) as a JSON list: one object per product with its key, the
// kernel chosen and the microseconds of each kernel measured (null: not a candidate).
std::string plan_json() {
  std::ostringstream out;
  out.precision(6);
  out << "[";
  bool first = true;
  for (const GemmPlanEntry& e : gemm_plan()) {
    const GemmProduct& p = e.product;
    out << (first ? "" : ", ") << "{\"scalar\": \"" << (p.scalar == GemmScalar::Float ? "float" : "double")
        << "\", \"op\": \"" << (p.op_a == Op::None ? 'N' : 'T') << (p.op_b == Op::None ? 'N' : 'T')
        << "\", \"m\": " << p.m << ", \"n\": " << p.n << ", \"k\": " << p.k << ", \"threads\": " << p.threads
        << ", \"kernel\": \"" << gemm_kernel_name(e.kernel) << "\", \"loaded\": " << (e.loaded ? "true" : "false")
        << ", \"us\": {";
    for (int i = 0; i < kGemmKernelCount; ++i) {
      out << (i ? ", " : "") << "\"" << gemm_kernel_name(GemmKernel(i)) << "\": ";
      if (std::isnan(e.seconds[i]))
        out << "null";
      else
        out << e.seconds[i] * 1e6;
    }
    out << "}}";
    first = false;
  }
  return out.str() + "]";
}

// The MLP: dense layers (He-normal weights, zero biases) with ReLU between them.
template <typename Scalar>
void add_layers(Network<Scalar>& net, const Options& o) {
  RandomState init_rng(o.seed);
  for (std::size_t i = 0; i + 1 < o.layers.size(); ++i) {
    initialize(net.template emplace<Dense<Scalar>>(o.layers[i], o.layers[i + 1]), init_rng, {InitScheme::He});
    if (i + 2 < o.layers.size()) net.template emplace<Relu<Scalar>>(o.layers[i + 1]);
  }
}

template <typename Scalar>
int run(const Options& o) {
  const TrainingSet<Scalar> data = load_training_set<Scalar>(o);
  const ByteRows<Scalar> inputs = data.rows();
  const Index n = inputs.rows();

  Network<Scalar> net;
  add_layers(net, o);
  net.reserve(o.batch);
  SoftmaxCrossEntropy<Scalar> loss;
  // --data-parallel: one replica per thread, each on its rows of the batch (gemm single-threaded
  // inside); otherwise one network whose products are split over the threads.
  DataParallel<Scalar> data_parallel(net, o.data_parallel ? o.threads : 1);

  long step_number = 0;
  Scalar last_loss = 0;
  // As the training loops do it (train.cpp's HostStepper). One network: the rows gathered
  // straight into its input buffer, the update fused into the backward's dW products
  // (Network::forward_backward_sgd; it skips the update when the loss is not finite).
  // Data-parallel: each thread gathers its block's rows into its replica, and the update is
  // fused into the sum of the replicas' gradients (DataParallel::forward_backward_rows).
  Labels labels(o.batch);
  auto step = [&](BatchSampler& sampler) {
    const std::vector<Index>& indices = sampler.next();
    const Index rows = Index(indices.size());
    gather_labels(data.labels, indices, labels);
    if (o.data_parallel) {
      last_loss = data_parallel.forward_backward_rows(inputs, indices.data(), rows, labels.head(rows), loss,
                                                      Scalar(o.learning_rate));
    } else {
      MatrixRef<Scalar> x = net.input_buffer(rows);
      copy_rows<Scalar>(inputs, indices.data(), rows, x);
      last_loss = net.forward_backward_sgd(x, labels.head(rows), loss, Scalar(o.learning_rate));
    }
    ++step_number;
    if (!std::isfinite(last_loss)) {
      std::ostringstream message;
      message << "training diverged at step " << step_number << ": loss " << last_loss << " (learning rate "
              << o.learning_rate << ")";
      throw Diverged(message.str());
    }
  };

  const bool epochs = o.rule == "epochs";
  const BatchRule rule = epochs ? BatchRule::ShuffledEpochs : BatchRule::WithReplacement;
  RandomState batch_rng(o.seed + 2);
  BatchSampler warmup_sampler(n, o.batch, rule, batch_rng);
  for (int i = 0; i < o.warmup; ++i) step(warmup_sampler);
  // A fresh sampler, so that with --rule epochs every timed block is exactly one epoch.
  BatchSampler sampler(n, o.batch, rule, batch_rng);
  const Index steps_per_block = epochs ? sampler.batches_per_epoch() : o.steps;

  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(o.blocks));
  const long allocations_before = eigennet_test::counts_allocations ? eigennet_test::allocations() : 0;
  const std::size_t device_products_before = cuda_gemm_device_products();
  for (int b = 0; b < o.blocks; ++b) {
    const auto start = Clock::now();
    for (Index s = 0; s < steps_per_block; ++s) step(sampler);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long allocated = eigennet_test::counts_allocations ? eigennet_test::allocations() - allocations_before : 0;
  const long timed_steps = long(steps_per_block) * o.blocks;

  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"eigennet\", \"threads\": " << o.threads
      << ", \"dtype\": " << json_string(tools::numpy_dtype_name(tools::dtype_of<Scalar>()))
      << ", \"gemm\": " << json_string(gemm_backend_name()) << ", \"gemm_choice\": " << json_string(gemm_choice())
      << ", \"precision\": " << json_string(o.precision) << ", \"plan\": " << plan_json();
  if (o.gemm == "cuda") {
    if (o.cuda_min_flops < 0)
      out << ", \"cuda_placement\": \"measured\"";
    else
      out << ", \"cuda_placement\": \"fixed\", \"cuda_min_flops\": " << o.cuda_min_flops;
    out << ", \"device_products_per_step\": "
        << double(cuda_gemm_device_products() - device_products_before) / double(timed_steps);
  }
  out << ", \"parallel\": " << json_string(o.data_parallel ? "data" : "gemm") << ", ";
  bench::write_blocks(out, steps_per_block, seconds);
  write_allocations(out, allocated, timed_steps);
  out << ", \"maxrss_kb\": " << bench::maxrss_kb() << ", \"final_loss\": " << double(last_loss)
      << ", \"data\": " << json_string(data.source) << "}";
  std::cout << out.str() << std::endl;
  return 0;
}

#ifdef EIGENNET_HAVE_CUDA
// --device cuda: the same network, initial weights, data and batch draws as run(), trained on the
// GPU by cuda::DeviceNetwork (SGD, softmax cross-entropy). The host draws each batch's indices
// with the same BatchSampler as the CPU run; step() uploads them and replays the captured step.
// A block's time ends after synchronize(), so it includes the device's work. At least 3 warm-up
// steps run whatever --warmup says: the first step of a batch size runs directly and the second
// captures the graph; both stay out of the timed blocks.
template <typename Scalar>
int run_cuda(const Options& o) {
  const TrainingSet<Scalar> data = load_training_set<Scalar>(o);
  const Index n = data.pixels.rows();
  Network<Scalar> net;
  add_layers(net, o);

  cuda::DeviceOptions options;
  options.max_batch = o.batch;
  options.loss.kind = cuda::DeviceLoss::Kind::SoftmaxCrossEntropy;
  options.optimizer.kind = cuda::DeviceOptimizer::Kind::Sgd;
  options.optimizer.learning_rate = o.learning_rate;
  options.graph = o.graph;
  cuda::DeviceNetwork<Scalar> device(net, options);
  device.set_training_set(to_unit_scale<Scalar>(data.pixels), data.labels);

  const bool epochs = o.rule == "epochs";
  const BatchRule rule = epochs ? BatchRule::ShuffledEpochs : BatchRule::WithReplacement;
  RandomState batch_rng(o.seed + 2);
  BatchSampler warmup_sampler(n, o.batch, rule, batch_rng);
  const int warmup = std::max(o.warmup, 3);
  for (int i = 0; i < warmup; ++i) device.step(warmup_sampler.next());
  device.synchronize();
  BatchSampler sampler(n, o.batch, rule, batch_rng);
  const Index steps_per_block = epochs ? sampler.batches_per_epoch() : o.steps;

  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(o.blocks));
  std::vector<StepResult> results;  // each block's results, fetched after its time is taken
  results.reserve(std::size_t(std::max<Index>(steps_per_block, warmup)));
  device.step_results(results);  // the warm-up's: the timed steps start with an empty log
  const std::size_t device_allocations_before = cuda::device_allocation_count();
  const long allocations_before = eigennet_test::counts_allocations ? eigennet_test::allocations() : 0;
  for (int b = 0; b < o.blocks; ++b) {
    const auto start = Clock::now();
    for (Index s = 0; s < steps_per_block; ++s) device.step(sampler.next());
    device.synchronize();  // throws TrainingDiverged after a NaN/Inf loss in this block
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    results.clear();
    device.step_results(results);  // so that no step of the next block fetches (a wait) or grows a vector
  }
  const long allocated = eigennet_test::counts_allocations ? eigennet_test::allocations() - allocations_before : 0;
  const std::size_t device_allocated = cuda::device_allocation_count() - device_allocations_before;
  const long timed_steps = long(steps_per_block) * o.blocks;
  const Scalar last_loss = device.loss();

  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"eigennet-cuda\", \"threads\": " << o.threads
      << ", \"dtype\": " << json_string(tools::numpy_dtype_name(tools::dtype_of<Scalar>()))
      << ", \"gemm\": " << json_string(o.graph ? "cublas, step in a CUDA graph" : "cublas, direct launches")
      << ", \"device\": " << json_string(cuda::query_device().name) << ", \"parallel\": \"device\""
      << ", \"graphs_captured\": " << device.graphs_captured() << ", \"warmup_steps\": " << warmup
      << ", ";
  bench::write_blocks(out, steps_per_block, seconds);
  write_allocations(out, allocated, timed_steps);
  out << ", \"device_allocations\": " << device_allocated << ", \"maxrss_kb\": " << bench::maxrss_kb()
      << ", \"final_loss\": " << double(last_loss) << ", \"data\": " << json_string(data.source) << "}";
  std::cout << out.str() << std::endl;
  return 0;
}
#endif

std::vector<Index> parse_layers(const std::string& text) {
  const std::vector<long> sizes = bench::parse_layer_sizes(text);
  return std::vector<Index>(sizes.begin(), sizes.end());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "784,1000,10";
  CLI::App app{"eigennet-bench: times eigennet MLP training steps; prints one JSON line (see tools/bench/README.md)"};
  app.add_option("--layers", layers, "layer sizes, ReLU between dense layers")->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dtype", o.dtype, "float32 (float) or float64 (double)")
      ->check(CLI::IsMember(tools::dtype_spellings()))
      ->capture_default_str();
  app.add_option("--rule", o.rule, "random: batches drawn with replacement; epochs: shuffled epochs, a block = an epoch")
      ->check(CLI::IsMember({"random", "epochs"}))->capture_default_str();
  app.add_option("--lr", o.learning_rate, "SGD learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--steps", o.steps, "steps per timed block (rule random)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--blocks", o.blocks, "timed blocks")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", o.threads, "GEMM/OpenMP threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--data", o.data_dir, "MNIST folder (default: $EIGENNET_MNIST_DIR, then the usual places)");
  app.add_flag("--random-data", o.random_data, "uniform random inputs of MNIST's shape instead of MNIST");
  app.add_option("--seed", o.seed, "seed of the initial weights and the batch draws")->capture_default_str();
  app.add_flag("--data-parallel", o.data_parallel,
               "split each batch over --threads network replicas (DataParallel) instead of splitting each product");
  app.add_option("--gemm", o.gemm,
                 "GEMM backend: default (EIGENNET_GEMM's choice, else the planner), eigen, onednn or simd (pinned), "
                 "openblas (built with -Dblas), auto or all (the planner measures each product; the JSON line "
                 "carries the plan), or cuda (the host-pointer "
                 "cuBLAS backend, built with -Dcuda; products of at least --cuda-min-flops go to the GPU)")
      ->check(CLI::IsMember({"default", "eigen", "openblas", "onednn", "simd", "auto", "all", "cuda"}))->capture_default_str();
  app.add_option("--precision", o.precision,
                 "float32, or bf16: float products on bf16 operands with float32 accumulation "
                 "(set_gemm_precision; --dtype float32 only; needs oneDNN and a CPU with AVX512-BF16 or AMX)")
      ->check(CLI::IsMember(tools::precision_spellings()))->capture_default_str();
  app.add_option("--cuda-min-flops", o.cuda_min_flops,
                 "--gemm cuda: 2·m·n·k from which a product goes to the GPU (default: measured per product)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device", o.device,
                 "cpu, or cuda: the step on the GPU (cuda::DeviceNetwork; needs a build with -Dcuda and a GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_flag("--no-graph{false}", o.graph, "--device cuda: launch each step's kernels directly, no CUDA graph");
  CLI11_PARSE(app, argc, argv);

  try {
    o.layers = parse_layers(layers);
    set_thread_count(o.threads);
#ifdef _OPENMP
    omp_set_num_threads(o.threads);
#endif
    if (o.gemm == "eigen" || o.gemm == "onednn" || o.gemm == "simd") {
      // That kernel on every product it has (oneDNN, simd: float ones), whatever EIGENNET_GEMM says;
      // throws where this build or CPU lacks it.
      set_gemm_backend(nullptr);
      pin_gemm_kernel(parse_gemm_kernel(o.gemm));
    }
    if (o.gemm == "auto" || o.gemm == "all") {  // the planner, whatever EIGENNET_GEMM says
      set_gemm_backend(nullptr);
      set_gemm_choice(o.gemm);
    }
    if (parse_gemm_precision(o.precision) == GemmPrecision::Bf16) {
      if (o.device == "cuda" || o.gemm == "cuda") {
        std::cerr << "eigennet-bench: --precision bf16 is for the CPU kernels, not --device cuda / --gemm cuda\n";
        return 1;
      }
      // A bench row labelled bf16 must not time float32: where bf16 cannot run, stop (the reason
      // is on stderr).
      if (tools::apply_precision(o.precision, tools::parse_dtype(o.dtype), "eigennet-bench") != GemmPrecision::Bf16)
        return 1;
    }
    if (o.gemm == "openblas") {
      auto backend = openblas_gemm_backend();
      if (!backend) {
        std::cerr << "eigennet-bench: --gemm openblas: eigennet was built without OpenBLAS (meson -Dblas=enabled)\n";
        return 1;
      }
      set_gemm_backend(backend);
    }
    if (o.device == "cuda" || o.gemm == "cuda") {
      const cuda::DeviceInfo& info = cuda::query_device();
      if (!info.available) {
        std::cerr << "eigennet-bench: " << (o.device == "cuda" ? "--device cuda" : "--gemm cuda")
                  << ": no usable GPU: " << info.reason << "\n";
        return 1;
      }
    }
    if (o.gemm == "cuda") {
      if (o.device == "cuda") {
        std::cerr << "eigennet-bench: --gemm cuda is the host-pointer backend of the CPU loop; with --device cuda "
                     "every product already runs on the GPU\n";
        return 1;
      }
      set_gemm_backend(o.cuda_min_flops < 0 ? cuda_gemm_backend() : cuda_gemm_backend(o.cuda_min_flops));
    }
    if (o.device == "cuda") {
      if (o.data_parallel) {
        std::cerr << "eigennet-bench: --data-parallel is for the CPU loop, not --device cuda\n";
        return 1;
      }
#ifdef EIGENNET_HAVE_CUDA
      return tools::with_dtype(tools::parse_dtype(o.dtype), [&](auto tag) { return run_cuda<decltype(tag)>(o); });
#else
      std::cerr << "eigennet-bench: --device cuda: this program was compiled without EIGENNET_HAVE_CUDA\n";
      return 1;
#endif
    }
    return tools::with_dtype(tools::parse_dtype(o.dtype), [&](auto tag) { return run<decltype(tag)>(o); });
  } catch (const std::invalid_argument& e) {
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 1;
  } catch (const DataError& e) {
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 1;
  } catch (const Diverged& e) {
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 2;
  } catch (const TrainingDiverged& e) {  // --device cuda
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 1;
  }
}

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
// Exit codes: 0 ok; 1 bad input (data not found, shapes); 2 training diverged; CLI11's codes
// for a bad command line.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
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
#include "eigennet/layers/relu.hpp"
#include "../dtype.hpp"
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
  bool data_parallel = false;  // split the batch over replicas (DataParallel) instead of each product
};

// The training inputs (N×D, pixels/255) and labels; random data of MNIST's shape on request.
template <typename Scalar>
struct TrainingSet {
  Matrix<Scalar> x;
  Labels labels;
  std::string source;
};

template <typename Scalar>
TrainingSet<Scalar> load_training_set(const Options& o) {
  TrainingSet<Scalar> set;
  const Index features = o.layers.front(), classes = o.layers.back();
  if (o.random_data) {
    RandomState rng(o.seed + 1);
    set.x.resize(60000, features);
    rng.fill_uniform(set.x, 0.0, 1.0);
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
  set.x = to_unit_scale<Scalar>(mnist.train.pixels);
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

template <typename Scalar>
int run(const Options& o) {
  TrainingSet<Scalar> data = load_training_set<Scalar>(o);
  const Index n = data.x.rows();

  Network<Scalar> net;
  RandomState init_rng(o.seed);
  for (std::size_t i = 0; i + 1 < o.layers.size(); ++i) {
    initialize(net.template emplace<Dense<Scalar>>(o.layers[i], o.layers[i + 1]), init_rng, {InitScheme::He});
    if (i + 2 < o.layers.size()) net.template emplace<Relu<Scalar>>(o.layers[i + 1]);
  }
  net.reserve(o.batch);
  SoftmaxCrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(net.parameters(), o.learning_rate);
  Batch<Scalar> batch(o.batch, data.x.cols());
  // --data-parallel: one replica per thread, each on its rows of the batch (gemm single-threaded
  // inside); otherwise one network whose products are split over the threads.
  DataParallel<Scalar> data_parallel(net, o.data_parallel ? o.threads : 1);

  long step_number = 0;
  Scalar last_loss = 0;
  auto step = [&](BatchSampler& sampler) {
    batch.gather(data.x, data.labels, sampler.next());
    last_loss = data_parallel.forward_backward(batch.x(), batch.labels(), loss);
    ++step_number;
    if (!std::isfinite(last_loss)) {
      std::ostringstream message;
      message << "training diverged at step " << step_number << ": loss " << last_loss << " (learning rate "
              << o.learning_rate << ")";
      throw Diverged(message.str());
    }
    sgd.step();
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
  const long allocations_before = eigennet_test::allocations();
  for (int b = 0; b < o.blocks; ++b) {
    const auto start = Clock::now();
    for (Index s = 0; s < steps_per_block; ++s) step(sampler);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long allocated = eigennet_test::allocations() - allocations_before;
  const long timed_steps = long(steps_per_block) * o.blocks;

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"eigennet\", \"threads\": " << o.threads
      << ", \"dtype\": " << json_string(tools::numpy_dtype_name(tools::dtype_of<Scalar>()))
      << ", \"gemm\": " << json_string(gemm_backend_name())
      << ", \"parallel\": " << json_string(o.data_parallel ? "data" : "gemm") << ", \"steps_per_block\": " << steps_per_block
      << ", \"block_seconds\": [";
  for (std::size_t i = 0; i < seconds.size(); ++i) out << (i ? ", " : "") << seconds[i];
  out << "], \"timed_steps\": " << timed_steps << ", \"allocations\": ";
  if (eigennet_test::counts_allocations)
    out << allocated << ", \"allocations_per_step\": " << double(allocated) / double(timed_steps);
  else
    out << "null, \"allocations_per_step\": null";
  out << ", \"maxrss_kb\": " << usage.ru_maxrss << ", \"final_loss\": " << double(last_loss)
      << ", \"data\": " << json_string(data.source) << "}";
  std::cout << out.str() << std::endl;
  return 0;
}

std::vector<Index> parse_layers(const std::string& text) {
  std::vector<Index> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value <= 0)
      throw std::invalid_argument("--layers: '" + item + "' in '" + text + "' is not a positive integer");
    sizes.push_back(static_cast<Index>(value));
  }
  if (sizes.size() < 2)
    throw std::invalid_argument("--layers needs at least an input and an output size, e.g. 784,1000,10; got '" +
                                text + "'");
  return sizes;
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
  app.add_option("--gemm", o.gemm, "GEMM backend: default (the build's), eigen, or openblas (built with -Dblas)")
      ->check(CLI::IsMember({"default", "eigen", "openblas"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    o.layers = parse_layers(layers);
    set_thread_count(o.threads);
#ifdef _OPENMP
    omp_set_num_threads(o.threads);
#endif
    if (o.gemm == "eigen") set_gemm_backend(nullptr);
    if (o.gemm == "openblas") {
      auto backend = openblas_gemm_backend();
      if (!backend) {
        std::cerr << "eigennet-bench: --gemm openblas: eigennet was built without OpenBLAS (meson -Dblas=enabled)\n";
        return 1;
      }
      set_gemm_backend(backend);
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
  } catch (const std::exception& e) {
    std::cerr << "eigennet-bench: " << e.what() << "\n";
    return 1;
  }
}

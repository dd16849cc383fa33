// gemm-bound: the GEMM-only bound of an MLP training step, on one GEMM kernel.
//
// It times exactly the matrix products eigennet performs in one training step of the same MLP,
// with the same row-major layouts and transpositions, and nothing else (no bias, ReLU, softmax,
// gather or update). A step that did only these products on that kernel could not be faster than
// this, so eigennet's time divided by it is the "fraction of the GEMM-only bound". Per dense
// layer in→out, batch B (the layout of src/layers/dense.cpp: W is (in+1)×out, its last row the bias):
//
//   forward    Y[B×out]  = X[B×in] · W[in×out]        (NN, beta 1: Y holds the bias rows)
//   backward   dW[in×out] = Xᵀ · dY[B×out]            (TN, beta 0)
//              dX[B×in]  = dY · Wᵀ                     (NT, beta 0; not for the first layer)
//
// --kernel chooses what runs them (run.py runs every kernel the build has; the bound is the best):
//   eigen, openblas, onednn   eigennet::gemm() pinned to that kernel (pin_gemm_kernel), inside
//                             eigennet's own split over --threads: the kernels the planner chooses
//                             from, exactly as a training step calls them. oneDNN is float only.
//   openblas-threads          cblas_sgemm / cblas_dgemm of Debian's OpenBLAS with OpenBLAS's own
//                             threads (the bound before the planner; built where pkg-config finds
//                             openblas). eigennet does not use OpenBLAS's threads (its threaded
//                             driver allocates on every call), but a step could.
// --list-kernels prints {"kernels": [...]}, the kernels of this build, and exits.
//
// It takes the same flags as eigennet-bench and prints one JSON line of the same form.

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#ifdef GEMM_BOUND_HAVE_CBLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "eigennet/gemm/gemm.hpp"
#include "eigennet/threads.hpp"
#include "json_line.hpp"
#include "layer_sizes.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using eigennet::Index;
using eigennet::Op;

constexpr const char* kOwnThreads = "openblas-threads";

struct Options {
  std::vector<long> layers{784, 1000, 10};
  long batch = 40;
  std::string dtype = "float32";
  std::string rule = "random";
  std::string kernel = "eigen";
  int warmup = 5, steps = 50, blocks = 7, threads = 1;
  long samples = 60000;  // training-set size (rule epochs: steps per block = ceil(samples/batch))
};

// The kernels this program can run, in GemmKernel order, then OpenBLAS with its own threads.
std::vector<std::string> kernels_here() {
  std::vector<std::string> names;
  for (eigennet::GemmKernel k : eigennet::gemm_kernels_built()) names.push_back(eigennet::gemm_kernel_name(k));
#ifdef GEMM_BOUND_HAVE_CBLAS
  names.push_back(kOwnThreads);
#endif
  return names;
}

// The buffers of one dense layer, sized for the batch.
template <typename Scalar>
struct LayerBuffers {
  long in, out;
  eigennet::Matrix<Scalar> x, w, y, dy, dw, dx;
};

// One product C = alpha·op(A)·op(B) + beta·C on the chosen kernel. A, B, C are whole row-major
// matrices or blocks of whole rows (W's first `in` rows), as dense.cpp passes them.
template <typename Scalar>
void product(bool own_threads, Op op_a, Op op_b, Scalar alpha, eigennet::ConstMatrixRef<Scalar> a,
             eigennet::ConstMatrixRef<Scalar> b, Scalar beta, eigennet::MatrixRef<Scalar> c) {
#ifdef GEMM_BOUND_HAVE_CBLAS
  if (own_threads) {
    const auto t = [](Op op) { return op == Op::None ? CblasNoTrans : CblasTrans; };
    const int m = int(c.rows()), n = int(c.cols()), k = int(op_a == Op::None ? a.cols() : a.rows());
    if constexpr (std::is_same<Scalar, float>::value)
      cblas_sgemm(CblasRowMajor, t(op_a), t(op_b), m, n, k, alpha, a.data(), int(a.outerStride()), b.data(),
                  int(b.outerStride()), beta, c.data(), int(c.outerStride()));
    else
      cblas_dgemm(CblasRowMajor, t(op_a), t(op_b), m, n, k, alpha, a.data(), int(a.outerStride()), b.data(),
                  int(b.outerStride()), beta, c.data(), int(c.outerStride()));
    return;
  }
#else
  (void)own_threads;
#endif
  eigennet::gemm<Scalar>(op_a, op_b, alpha, a, b, beta, c);
}

template <typename Scalar>
int run(const Options& o) {
  const bool own_threads = o.kernel == kOwnThreads;
  std::mt19937 gen(1);
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  auto filled = [&](long rows, long cols) {
    eigennet::Matrix<Scalar> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = Scalar(uniform(gen));
    return m;
  };
  std::vector<LayerBuffers<Scalar>> layers;
  for (std::size_t i = 0; i + 1 < o.layers.size(); ++i) {
    const long in = o.layers[i], out = o.layers[i + 1], b = o.batch;
    layers.push_back({in, out, filled(b, in), filled(in + 1, out), filled(b, out), filled(b, out),
                      filled(in + 1, out), filled(b, in)});
  }
  // b < batch: the smaller last batch of an epoch, on the first b rows of each buffer.
  auto step = [&](long b) {
    for (auto& l : layers)
      product<Scalar>(own_threads, Op::None, Op::None, 1, l.x.topRows(b), l.w.topRows(l.in), 1, l.y.topRows(b));
    for (std::size_t i = layers.size(); i-- > 0;) {
      auto& l = layers[i];
      product<Scalar>(own_threads, Op::Transpose, Op::None, 1, l.x.topRows(b), l.dy.topRows(b), 0,
                      l.dw.topRows(l.in));
      if (i > 0)
        product<Scalar>(own_threads, Op::None, Op::Transpose, 1, l.dy.topRows(b), l.w.topRows(l.in), 0,
                        l.dx.topRows(b));
    }
  };

  const bool epochs = o.rule == "epochs";
  const long full_steps = epochs ? o.samples / o.batch : o.steps;
  const long rest = epochs ? o.samples % o.batch : 0;  // the smaller last batch of an epoch
  for (int i = 0; i < o.warmup; ++i) step(o.batch);
  if (rest > 0) step(rest);  // its products' first calls (the planner's, oneDNN's) out of the timing
  std::vector<double> seconds;
  for (int blk = 0; blk < o.blocks; ++blk) {
    const auto start = Clock::now();
    for (long s = 0; s < full_steps; ++s) step(o.batch);
    if (rest > 0) step(rest);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long steps_per_block = full_steps + (rest > 0 ? 1 : 0);

  std::string what = o.kernel + " (eigennet::gemm, pinned)";
#ifdef GEMM_BOUND_HAVE_CBLAS
  if (own_threads) what = std::string("OpenBLAS ") + openblas_get_corename() + ", its own threads";
#endif
  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"gemm-bound\", \"kernel\": \"" << o.kernel << "\", \"threads\": " << o.threads
      << ", \"dtype\": \"" << o.dtype << "\", \"gemm\": \"" << what << "\", ";
  bench::write_blocks(out, steps_per_block, seconds);
  out << ", \"maxrss_kb\": " << bench::maxrss_kb() << ", \"data\": \"random\"}";
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "784,1000,10", data_dir;
  double lr = 0.01;
  unsigned seed = 0;
  bool random_data = false, list = false;
  std::string gemm_name = "openblas";
  const std::vector<std::string> kernels = kernels_here();
  CLI::App app{"gemm-bound: time of exactly the GEMMs of an MLP training step on one kernel (tools/bench/README.md)"};
  app.add_option("--layers", layers, "layer sizes")->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dtype", o.dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  app.add_option("--rule", o.rule, "random, or epochs (a block = ceil(samples/batch) steps)")
      ->check(CLI::IsMember({"random", "epochs"}))->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--steps", o.steps, "steps per timed block (rule random)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--blocks", o.blocks, "timed blocks")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", o.threads, "threads (eigennet's split, or OpenBLAS's own for openblas-threads)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--samples", o.samples, "training-set size for rule epochs")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--kernel", o.kernel, "what runs the products: a kernel of eigennet's GEMM seam, pinned, or "
                                       "openblas-threads (cblas with OpenBLAS's own threads)")
      ->check(CLI::IsMember(kernels))->capture_default_str();
  app.add_flag("--list-kernels", list, "print the kernels of this build as one JSON line and exit");
  // Accepted so that every implementation takes the same command line; they do not change the GEMMs.
  app.add_option("--lr", lr, "(ignored: no update here)");
  app.add_option("--seed", seed, "(ignored)");
  app.add_option("--data", data_dir, "(ignored: the bound runs on random matrices)");
  app.add_flag("--random-data", random_data, "(ignored)");
  app.add_option("--gemm", gemm_name, "(ignored; see --kernel)");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    std::cout << "{\"kernels\": [";
    for (std::size_t i = 0; i < kernels.size(); ++i) std::cout << (i ? ", " : "") << "\"" << kernels[i] << "\"";
    std::cout << "]}" << std::endl;
    return 0;
  }
  try {
    o.layers = bench::parse_layer_sizes(layers);
    if (o.kernel == kOwnThreads) {
#ifdef GEMM_BOUND_HAVE_CBLAS
      openblas_set_num_threads(o.threads);
#endif
    } else {
      const eigennet::GemmKernel kernel = eigennet::parse_gemm_kernel(o.kernel);
      const auto scalar = o.dtype == "float64" ? eigennet::GemmScalar::Double : eigennet::GemmScalar::Float;
      // Pinned to onednn, double products would silently run on Eigen: refuse instead.
      if (!eigennet::gemm_kernel_available(kernel, scalar))
        throw std::invalid_argument("--kernel " + o.kernel + " has no " + o.dtype + " GEMM");
      eigennet::pin_gemm_kernel(kernel);
      eigennet::set_thread_count(o.threads);
#ifdef _OPENMP
      omp_set_num_threads(o.threads);
#endif
    }
  } catch (const std::exception& e) {
    std::cerr << "gemm-bound: " << e.what() << "\n";
    return 1;
  }
  return o.dtype == "float64" ? run<double>(o) : run<float>(o);
}

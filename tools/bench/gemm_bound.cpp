// gemm-bound: the GEMM-only bound of an MLP training step, measured with OpenBLAS.
//
// It times, through cblas_sgemm / cblas_dgemm (Debian's libopenblas), exactly the matrix
// products eigennet performs in one training step of the same MLP, with the same row-major
// layouts and transpositions, and nothing else (no bias, ReLU, softmax, gather or update).
// A step that did only these products could not be faster than this, so eigennet's time
// divided by it is the "fraction of the GEMM-only bound". Per dense layer in→out, batch B:
//
//   forward    Y[B×out]  = X[B×in] · W[in×out]        (NN, beta 1: Y holds the bias rows)
//   backward   dW[in×out] = Xᵀ · dY[B×out]            (TN, beta 0)
//              dX[B×in]  = dY · Wᵀ                     (NT, beta 0; not for the first layer)
//
// It takes the same flags as eigennet-bench and prints one JSON line of the same form.
#include <cblas.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "layer_sizes.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<long> layers{784, 1000, 10};
  long batch = 40;
  std::string dtype = "float32";
  std::string rule = "random";
  int warmup = 5, steps = 50, blocks = 7, threads = 1;
  long samples = 60000;  // training-set size (rule epochs: steps per block = ceil(samples/batch))
};

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, long m, long n, long k, float alpha, const float* a, long lda,
          const float* b, long ldb, float beta, float* c, long ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, long m, long n, long k, double alpha, const double* a, long lda,
          const double* b, long ldb, double beta, double* c, long ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// The buffers of one dense layer, sized for the largest batch.
template <typename Scalar>
struct LayerBuffers {
  long in, out;
  std::vector<Scalar> x, w, y, dy, dw, dx;
};

template <typename Scalar>
int run(const Options& o) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  auto filled = [&](std::size_t count) {
    std::vector<Scalar> v(count);
    for (auto& e : v) e = Scalar(uniform(gen));
    return v;
  };
  std::vector<LayerBuffers<Scalar>> layers;
  for (std::size_t i = 0; i + 1 < o.layers.size(); ++i) {
    const long in = o.layers[i], out = o.layers[i + 1], b = o.batch;
    layers.push_back({in, out, filled(b * in), filled((in + 1) * out), filled(b * out), filled(b * out),
                      filled((in + 1) * out), filled(b * in)});
  }
  auto step = [&](long b) {
    for (auto& l : layers)
      gemm(CblasNoTrans, CblasNoTrans, b, l.out, l.in, Scalar(1), l.x.data(), l.in, l.w.data(), l.out, Scalar(1),
           l.y.data(), l.out);
    for (std::size_t i = layers.size(); i-- > 0;) {
      auto& l = layers[i];
      gemm(CblasTrans, CblasNoTrans, l.in, l.out, b, Scalar(1), l.x.data(), l.in, l.dy.data(), l.out, Scalar(0),
           l.dw.data(), l.out);
      if (i > 0)
        gemm(CblasNoTrans, CblasTrans, b, l.in, l.out, Scalar(1), l.dy.data(), l.out, l.w.data(), l.out, Scalar(0),
             l.dx.data(), l.in);
    }
  };

  const bool epochs = o.rule == "epochs";
  const long full_steps = epochs ? o.samples / o.batch : o.steps;
  const long rest = epochs ? o.samples % o.batch : 0;  // the smaller last batch of an epoch
  for (int i = 0; i < o.warmup; ++i) step(o.batch);
  std::vector<double> seconds;
  for (int blk = 0; blk < o.blocks; ++blk) {
    const auto start = Clock::now();
    for (long s = 0; s < full_steps; ++s) step(o.batch);
    if (rest > 0) step(rest);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const long steps_per_block = full_steps + (rest > 0 ? 1 : 0);

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::ostringstream out;
  out.precision(9);
  out << "{\"impl\": \"openblas-gemm\", \"threads\": " << o.threads << ", \"dtype\": \"" << o.dtype
      << "\", \"gemm\": \"OpenBLAS " << openblas_get_corename() << "\", \"steps_per_block\": " << steps_per_block
      << ", \"block_seconds\": [";
  for (std::size_t i = 0; i < seconds.size(); ++i) out << (i ? ", " : "") << seconds[i];
  out << "], \"timed_steps\": " << steps_per_block * o.blocks << ", \"maxrss_kb\": " << usage.ru_maxrss
      << ", \"data\": \"random\"}";
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "784,1000,10", data_dir;
  double lr = 0.01;
  unsigned seed = 0;
  bool random_data = false;
  std::string gemm_name = "openblas";
  CLI::App app{"gemm-bound: OpenBLAS time of exactly the GEMMs of an MLP training step (tools/bench/README.md)"};
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
  app.add_option("--threads", o.threads, "OpenBLAS threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--samples", o.samples, "training-set size for rule epochs")->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Accepted so that every implementation takes the same command line; they do not change the GEMMs.
  app.add_option("--lr", lr, "(ignored: no update here)");
  app.add_option("--seed", seed, "(ignored)");
  app.add_option("--data", data_dir, "(ignored: the bound runs on random matrices)");
  app.add_flag("--random-data", random_data, "(ignored)");
  app.add_option("--gemm", gemm_name, "(ignored)");
  CLI11_PARSE(app, argc, argv);

  try {
    o.layers = bench::parse_layer_sizes(layers);
  } catch (const std::invalid_argument& e) {
    std::cerr << "gemm-bound: " << e.what() << "\n";
    return 1;
  }
  openblas_set_num_threads(o.threads);
  return o.dtype == "float64" ? run<double>(o) : run<float>(o);
}

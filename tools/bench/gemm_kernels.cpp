// gemm-kernels: each CPU GEMM kernel of this build on single products, one thread, side by side.
//
//   build/tools/bench/gemm-kernels [--shapes NN:40x1000x784,TN:784x1000x40,...] [--rounds 15]
//                                  [--dtype float32|float64]
//
// For each product (op(A)op(B): m×n×k) every kernel this build and CPU have for the scalar runs through
// eigennet::gemm pinned to it (pin_gemm_kernel, one thread), on the same random operands; rounds
// take the kernels in turn, so that a burst of load from elsewhere hits them alike, and each
// kernel's best time counts. Prints GFLOP/s per kernel, simd's speed over the best other kernel's,
// and the largest difference between simd's result and Eigen's (rounding only). The default shapes
// are the float32 MLP workloads' products (tools/bench/README.md); W5 is W1's in float64.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"

using namespace eigennet;

namespace {

struct Shape {
  Op op_a, op_b;
  Index m, n, k;
  std::string text;
};

Shape parse_shape(const std::string& text) {
  // "NT:40x1000x10"
  Shape s{Op::None, Op::None, 0, 0, 0, text};
  char a = 0, b = 0, x1 = 0, x2 = 0, colon = 0;
  long m = 0, n = 0, k = 0;
  std::istringstream in(text);
  if (!(in >> a >> b >> colon >> m >> x1 >> n >> x2 >> k) || colon != ':' || x1 != 'x' || x2 != 'x' ||
      (a != 'N' && a != 'T') || (b != 'N' && b != 'T') || m <= 0 || n <= 0 || k <= 0 || in.peek() != EOF)
    throw std::invalid_argument("--shapes: '" + text + "' is not OPS:MxNxK (OPS: NN, NT, TN or TT; sizes > 0)");
  s.op_a = a == 'N' ? Op::None : Op::Transpose;
  s.op_b = b == 'N' ? Op::None : Op::Transpose;
  s.m = m, s.n = n, s.k = k;
  return s;
}

}  // namespace

template <typename Scalar>
void run(const std::vector<Shape>& shapes, int rounds) {
  const GemmScalar scalar = sizeof(Scalar) == sizeof(float) ? GemmScalar::Float : GemmScalar::Double;
  std::vector<GemmKernel> kernels;
  for (GemmKernel kernel : gemm_kernels_built())
    if (gemm_kernel_available(kernel, scalar)) kernels.push_back(kernel);
  const bool simd = std::find(kernels.begin(), kernels.end(), GemmKernel::Simd) != kernels.end();
  std::printf("%-20s", sizeof(Scalar) == sizeof(float) ? "product (float32)" : "product (float64)");
  for (GemmKernel kernel : kernels) std::printf("%11s", gemm_kernel_name(kernel));
  std::printf("   GFLOP/s, one thread%s\n", simd ? "; simd/best other; max |simd - eigen|" : "");
  RandomState rng(1);
  using Clock = std::chrono::steady_clock;
  for (const Shape& s : shapes) {
    Matrix<Scalar> a(s.op_a == Op::None ? s.m : s.k, s.op_a == Op::None ? s.k : s.m);
    Matrix<Scalar> b(s.op_b == Op::None ? s.k : s.n, s.op_b == Op::None ? s.n : s.k);
    rng.fill_uniform(a, -1, 1);
    rng.fill_uniform(b, -1, 1);
    std::map<GemmKernel, Matrix<Scalar>> c;
    std::map<GemmKernel, double> best;
    const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
    const int reps = std::max(1, int(2e8 / flops));  // ~1 ms of work per kernel and round
    for (GemmKernel kernel : kernels) {
      c[kernel] = Matrix<Scalar>::Zero(s.m, s.n);
      best[kernel] = 1e30;
    }
    for (int round = 0; round < rounds; ++round)
      for (GemmKernel kernel : kernels) {
        pin_gemm_kernel(kernel);
        for (int r = 0; r < reps; ++r) {
          const auto start = Clock::now();
          gemm<Scalar>(s.op_a, s.op_b, 1, a, b, 0, c[kernel]);
          best[kernel] = std::min(best[kernel], std::chrono::duration<double>(Clock::now() - start).count());
        }
      }
    std::printf("%-20s", s.text.c_str());
    double best_other = 0;
    for (GemmKernel kernel : kernels) {
      const double gflops = flops / best[kernel] * 1e-9;
      std::printf("%11.1f", gflops);
      if (kernel != GemmKernel::Simd) best_other = std::max(best_other, gflops);
    }
    if (simd)
      std::printf("   %.2f  %.1e", flops / best[GemmKernel::Simd] * 1e-9 / best_other,
                  double((c[GemmKernel::Simd] - c[GemmKernel::Eigen]).cwiseAbs().maxCoeff()));
    std::printf("\n");
  }
}

int main(int argc, char** argv) {
  CLI::App app{"gemm-kernels: each CPU GEMM kernel on single products, one thread (tools/bench/README.md)"};
  std::string shapes_text =
      "NN:40x1000x784,TN:784x1000x40,NN:40x10x1000,TN:1000x10x40,NT:40x1000x10,"
      "NN:256x1000x784,TN:784x1000x256,NN:100x64x784,TN:784x64x100,"
      "NN:1024x4096x4096,TN:4096x4096x1024,NT:1024x4096x4096";
  std::string dtype = "float32";
  int rounds = 15;
  app.add_option("--shapes", shapes_text, "comma-separated OPS:MxNxK products")->capture_default_str();
  app.add_option("--rounds", rounds, "rounds of all kernels; each kernel's best time counts")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--dtype", dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<Shape> shapes;
  try {
    std::stringstream list(shapes_text);
    for (std::string item; std::getline(list, item, ',');) shapes.push_back(parse_shape(item));
  } catch (const std::exception& e) {
    std::cerr << "gemm-kernels: " << e.what() << "\n";
    return 1;
  }
  set_thread_count(1);
  if (dtype == "float64")
    run<double>(shapes, rounds);
  else
    run<float>(shapes, rounds);
  return 0;
}

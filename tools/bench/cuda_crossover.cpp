// cuda-gemm-crossover: where the host-pointer cuBLAS backend starts to pay.
//
// cuda_gemm_backend() (include/eigennet/cuda/device.hpp) serves programs that keep their
// matrices on the host: it times each product's first call on the GPU (copied in, cuBLAS, copied
// back) and on the CPU, and runs it where it was faster from then on; cuda_gemm_backend(min_flops)
// sends every product of at least min_flops (2·m·n·k) instead. This program times representative
// products both ways, one after the other in the same process:
//
//   cpu       eigennet::gemm with the built-in backend (the planner's kernel, split over --threads)
//   gpu       eigennet::gemm through cuda_gemm_backend(0) (every product to the GPU, copies included)
//   measured  where cuda_gemm_backend() placed the product after measuring it
//
// The products: every GEMM of one training step of W1–W5 (tools/bench/README.md; the layouts of
// gemm_bound.cpp), and square float32 products from 64 to 4096. It prints one line per product
// (median of --repeats after one untimed call), the crossover read off them — the smallest
// 2·m·n·k from which the GPU was faster for every larger product of the list — and one JSON line.
// Where no GPU answers it exits 1 with query_device()'s reason.
#include <CLI/CLI.hpp>
#include <algorithm>
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

#include "eigennet/cuda/device.hpp"
#include "eigennet/gemm/gemm.hpp"
#include "eigennet/threads.hpp"

using namespace eigennet;

namespace {

using Clock = std::chrono::steady_clock;

struct Product {
  std::string what;  // e.g. "W1 forward L1"
  std::string dtype;
  Op op_a, op_b;
  Index m, n, k;
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
};

struct Timing {
  Product product;
  double cpu_seconds, gpu_seconds;
  bool measured_gpu;  // cuda_gemm_backend()'s placement
};

// The GEMMs of one training step of an MLP (as gemm_bound.cpp / cuda_gemm_bound.cpp).
void add_step(std::vector<Product>& out, const std::string& name, const std::string& dtype,
              const std::vector<Index>& layers, Index batch) {
  for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
    const Index in = layers[i], o = layers[i + 1];
    const std::string l = " L" + std::to_string(i + 1);
    out.push_back({name + " forward" + l, dtype, Op::None, Op::None, batch, o, in});
    out.push_back({name + " dW" + l, dtype, Op::Transpose, Op::None, in, o, batch});
    if (i > 0) out.push_back({name + " dX" + l, dtype, Op::None, Op::Transpose, batch, in, o});
  }
}

// Random operands of the product; multiply() runs it through eigennet::gemm (the backend in force).
template <typename Scalar>
struct Operands {
  Matrix<Scalar> a, b, c;
  const Product& p;
  explicit Operands(const Product& product) : p(product) {
    a = Matrix<Scalar>::Random(p.op_a == Op::None ? p.m : p.k, p.op_a == Op::None ? p.k : p.m);
    b = Matrix<Scalar>::Random(p.op_b == Op::None ? p.k : p.n, p.op_b == Op::None ? p.n : p.k);
    c = Matrix<Scalar>::Zero(p.m, p.n);
  }
  void multiply() { gemm<Scalar>(p.op_a, p.op_b, 1, a, b, 0, c); }
};

template <typename Scalar>
double median_seconds(const Product& p, int repeats) {
  Operands<Scalar> x(p);
  x.multiply();  // untimed: packing buffers, device buffers, cuBLAS kernels
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    x.multiply();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// Where the backend in force runs the product once it has seen it: the first call (measuring,
// for cuda_gemm_backend()), then whether the second ran on the GPU.
template <typename Scalar>
bool runs_on_gpu(const Product& p) {
  Operands<Scalar> x(p);
  x.multiply();
  const std::size_t before = cuda_gemm_device_products();
  x.multiply();
  return cuda_gemm_device_products() != before;
}

double median_seconds(const Product& p, int repeats) {
  return p.dtype == "float64" ? median_seconds<double>(p, repeats) : median_seconds<float>(p, repeats);
}

bool runs_on_gpu(const Product& p) { return p.dtype == "float64" ? runs_on_gpu<double>(p) : runs_on_gpu<float>(p); }

// The smallest flops from which the GPU won every product at least that large (infinity when it
// lost the largest one), for the products of one dtype.
double crossover(const std::vector<Timing>& timings, const std::string& dtype) {
  std::vector<const Timing*> list;
  for (const auto& t : timings)
    if (t.product.dtype == dtype) list.push_back(&t);
  std::sort(list.begin(), list.end(), [](const Timing* a, const Timing* b) { return a->product.flops() < b->product.flops(); });
  double from = INFINITY;
  for (std::size_t i = list.size(); i-- > 0;) {
    if (list[i]->gpu_seconds >= list[i]->cpu_seconds) break;
    from = list[i]->product.flops();
  }
  return from;
}

std::string number(double value) {
  if (std::isinf(value)) return "null";
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 5;
  bool quick = false;
  CLI::App app{"cuda-gemm-crossover: CPU against the host-pointer cuBLAS backend on representative products "
               "(tools/bench/README.md)"};
  app.add_option("--threads", threads, "threads of the CPU side (eigennet's GEMM split)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--repeats", repeats, "timed calls per product and side (the median is kept)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--quick", quick, "only the squares up to 1024 and W1's products");
  CLI11_PARSE(app, argc, argv);

  const cuda::DeviceInfo& info = cuda::query_device();
  if (!info.available) {
    std::cerr << "cuda-gemm-crossover: no usable GPU: " << info.reason << "\n";
    return 1;
  }
  const std::shared_ptr<GemmBackend> gpu = cuda_gemm_backend(0.0), measured = cuda_gemm_backend();
  if (!gpu || !measured) {
    std::cerr << "cuda-gemm-crossover: cuda_gemm_backend returned nullptr\n";
    return 1;
  }
  set_thread_count(threads);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif

  std::vector<Product> products;
  add_step(products, "W1", "float32", {784, 1000, 10}, 40);
  if (!quick) {
    add_step(products, "W2", "float32", {784, 1000, 10}, 256);
    add_step(products, "W3", "float32", {784, 64, 32, 10}, 100);
    add_step(products, "W4", "float32", {784, 4096, 4096, 10}, 1024);
    add_step(products, "W5", "float64", {784, 1000, 10}, 40);
  }
  for (Index size : {64, 128, 256, 512, 1024, 2048, 4096})
    if (!quick || size <= 1024)
      products.push_back({"square " + std::to_string(size), "float32", Op::None, Op::None, size, size, size});

  std::printf("device: %s\n", info.name.c_str());
  std::printf("cpu: eigennet::gemm, built-in backend, %d threads; gpu: cuda_gemm_backend(0) (copies in and out "
              "included); median of %d calls\n",
              threads, repeats);
  std::printf("%-16s %-7s %-6s %22s %10s %12s %12s  %-14s %s\n", "product", "dtype", "layout", "m×n×k", "2mnk",
              "cpu µs", "gpu µs", "faster", "measured");
  std::vector<Timing> timings;
  for (const auto& p : products) {
    set_gemm_backend(nullptr);
    const double cpu_s = median_seconds(p, repeats);
    set_gemm_backend(gpu);
    const double gpu_s = median_seconds(p, repeats);
    set_gemm_backend(measured);
    const bool measured_gpu = runs_on_gpu(p);
    set_gemm_backend(nullptr);
    timings.push_back({p, cpu_s, gpu_s, measured_gpu});
    const std::string layout = std::string(p.op_a == Op::None ? "N" : "T") + (p.op_b == Op::None ? "N" : "T");
    const std::string shape = std::to_string(p.m) + "×" + std::to_string(p.n) + "×" + std::to_string(p.k);
    char faster[32];
    std::snprintf(faster, sizeof faster, "%s (%.2f×)", gpu_s < cpu_s ? "gpu" : "cpu",
                  gpu_s < cpu_s ? cpu_s / gpu_s : gpu_s / cpu_s);
    std::printf("%-16s %-7s %-6s %22s %10.3g %12.1f %12.1f  %-14s %s\n", p.what.c_str(), p.dtype.c_str(),
                layout.c_str(), shape.c_str(), p.flops(), cpu_s * 1e6, gpu_s * 1e6, faster,
                measured_gpu ? "gpu" : "cpu");
    std::fflush(stdout);
  }
  const double f32 = crossover(timings, "float32"), f64 = crossover(timings, "float64");
  std::printf("crossover float32: the GPU won every product of at least %s flops in this list\n",
              std::isinf(f32) ? "(none: it lost the largest)" : number(f32).c_str());
  if (!quick)
    std::printf("crossover float64: the GPU won every product of at least %s flops in this list\n",
                std::isinf(f64) ? "(none: it lost the largest)" : number(f64).c_str());
  int agree = 0;
  for (const auto& t : timings) agree += t.measured_gpu == (t.gpu_seconds < t.cpu_seconds);
  std::printf("cuda_gemm_backend() placed %d of %zu products on the side that was faster here\n", agree,
              timings.size());

  std::ostringstream out;
  out << "{\"impl\": \"cuda-gemm-crossover\", \"device\": \"" << info.name << "\", \"threads\": " << threads
      << ", \"crossover_flops_float32\": " << number(f32) << ", \"crossover_flops_float64\": " << number(f64)
      << ", \"products\": [";
  for (std::size_t i = 0; i < timings.size(); ++i) {
    const auto& t = timings[i];
    out << (i ? ", " : "") << "{\"what\": \"" << t.product.what << "\", \"dtype\": \"" << t.product.dtype
        << "\", \"m\": " << t.product.m << ", \"n\": " << t.product.n << ", \"k\": " << t.product.k
        << ", \"flops\": " << t.product.flops() << ", \"cpu_seconds\": " << t.cpu_seconds
        << ", \"gpu_seconds\": " << t.gpu_seconds << ", \"measured\": \"" << (t.measured_gpu ? "gpu" : "cpu")
        << "\"}";
  }
  out << "]}";
  std::cout << out.str() << std::endl;
  return 0;
}

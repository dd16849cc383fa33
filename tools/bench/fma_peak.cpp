// fma-peak: this CPU's FMA peak, the physical limit beside the bench's GFLOP/s.
//
// Each thread runs CHAINS independent accumulator chains of `acc = acc * a + b`, one fused
// multiply-add per vector per iteration, on the widest vectors this build targets (GCC vector
// types sized from __AVX512F__ / __AVX2__ / __SSE2__ at compile time; the default build has
// -march=native). CHAINS (12) exceeds FMA latency × FMA ports on current x86 cores (4 × 2), so
// the chains keep every FMA unit busy. The FMA is an intrinsic, not `a * b + c`: without
// -ffast-math and with -std=c++NN (no contraction), GCC would not fuse the latter. Every
// accumulator ends in a checksum that is printed, so nothing is optimised away.
//
// fp32 and fp64, one thread and --threads threads (default: all hardware threads), each run
// repeated --repeats times, best kept. 2 flops per lane per FMA. Prints a text table, or with
// --json one JSON line (tools/bench/run.py reads it).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__FMA__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kChains = 12;

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
const char* const kVectorName = "AVX-512 (512-bit)";
using VF = __m512;
using VD = __m512d;
inline VF fmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VD fmadd(VD a, VD b, VD c) { return _mm512_fmadd_pd(a, b, c); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kVectorBytes = 32;
const char* const kVectorName = "AVX2+FMA (256-bit)";
using VF = __m256;
using VD = __m256d;
inline VF fmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VD fmadd(VD a, VD b, VD c) { return _mm256_fmadd_pd(a, b, c); }
#else
// No FMA instruction targeted (e.g. -Dnative=false: plain SSE2): a multiply and an add per
// "FMA", which is what such a build's kernels can do at best. GCC vector extensions, 16 bytes.
constexpr int kVectorBytes = 16;
const char* const kVectorName = "SSE2 (128-bit, no FMA: mul + add)";
using VF = float __attribute__((vector_size(16)));
using VD = double __attribute__((vector_size(16)));
inline VF fmadd(VF a, VF b, VF c) { return a * b + c; }
inline VD fmadd(VD a, VD b, VD c) { return a * b + c; }
#endif

template <typename Scalar>
struct VectorOf;
template <>
struct VectorOf<float> {
  using type = VF;
};
template <>
struct VectorOf<double> {
  using type = VD;
};

// CHAINS independent chains for `iterations` iterations; returns the sum of every lane.
template <typename Scalar>
__attribute__((noinline)) double chains(long iterations, Scalar seed) {
  using V = typename VectorOf<Scalar>::type;
  constexpr int lanes = kVectorBytes / int(sizeof(Scalar));
  V acc[kChains], a, b;
  for (int l = 0; l < lanes; ++l) {
    a[l] = Scalar(0.999999);  // acc → b / (1 - a) = 1: finite, normal, never constant-folded
    b[l] = Scalar(1e-6);
    for (int c = 0; c < kChains; ++c) acc[c][l] = seed + Scalar(c + l) * Scalar(1e-3);
  }
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = fmadd(acc[c], a, b);
  }
  double sum = 0;
  for (int c = 0; c < kChains; ++c)
    for (int l = 0; l < lanes; ++l) sum += double(acc[c][l]);
  return sum;
}

struct Measure {
  double gflops = 0, checksum = 0;
};

// `threads` threads each running the chains; the best of `repeats` wall times.
template <typename Scalar>
Measure measure(int threads, long iterations, int repeats) {
  constexpr int lanes = kVectorBytes / int(sizeof(Scalar));
  const double flops = 2.0 * lanes * kChains * double(iterations) * threads;
  Measure m;
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    std::vector<double> sums(threads);
    auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { sums[t] = chains<Scalar>(iterations, Scalar(0.5 + 0.01 * t)); });
    sums[0] = chains<Scalar>(iterations, Scalar(0.5));
    for (auto& th : pool) th.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, seconds);
    for (double s : sums) m.checksum += s;
  }
  m.gflops = flops / best / 1e9;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fma-peak: this CPU's FMA peak in GFLOP/s (fp32 and fp64, one thread and all threads)"};
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  long iterations = 20000000;
  int repeats = 5;
  bool json = false;
  app.add_option("--threads", threads, "threads of the all-threads measurement (default: hardware threads)")
      ->check(CLI::PositiveNumber);
  app.add_option("--iterations", iterations, "iterations of the chains per thread and run (default 2e7)")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", repeats, "runs of each measurement; the fastest counts (default 5)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "one JSON line instead of the text table");
  CLI11_PARSE(app, argc, argv);

  std::vector<int> counts{1};
  if (threads > 1) counts.push_back(threads);
  // results[dtype][i]: counts[i] threads
  Measure results[2][2];
  double checksum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    results[0][i] = measure<float>(counts[i], iterations, repeats);
    // fp64 has half the lanes: twice the iterations would double the time; keep the same count.
    results[1][i] = measure<double>(counts[i], iterations, repeats);
    checksum += results[0][i].checksum + results[1][i].checksum;
  }
  const char* names[2] = {"float32", "float64"};
  if (json) {
    std::printf("{\"tool\":\"fma-peak\",\"vector\":\"%s\",\"vector_bits\":%d,\"chains\":%d,\"threads\":%d,"
                "\"iterations\":%ld,\"repeats\":%d,\"checksum\":%.6g,\"gflops\":{",
                kVectorName, kVectorBytes * 8, kChains, threads, iterations, repeats, checksum);
    for (int d = 0; d < 2; ++d) {
      std::printf("%s\"%s\":{", d ? "," : "", names[d]);
      for (std::size_t i = 0; i < counts.size(); ++i)
        std::printf("%s\"%d\":%.2f", i ? "," : "", counts[i], results[d][i].gflops);
      std::printf("}");
    }
    std::printf("}}\n");
    return 0;
  }
  std::printf("FMA peak: %s vectors, %d independent accumulator chains per thread, best of %d runs of %ld "
              "iterations\n",
              kVectorName, kChains, repeats, iterations);
  std::printf("%-8s %8s %14s %16s\n", "dtype", "threads", "GFLOP/s total", "GFLOP/s per core");
  for (int d = 0; d < 2; ++d)
    for (std::size_t i = 0; i < counts.size(); ++i)
      std::printf("%-8s %8d %14.1f %16.1f\n", names[d], counts[i], results[d][i].gflops,
                  results[d][i].gflops / counts[i]);
  std::printf("(checksum %.6g)\n", checksum);
  return 0;
}

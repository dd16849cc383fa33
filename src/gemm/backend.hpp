// What the GEMM kernels share (internal): the sequential kernels each backend offers, and the
// split of a product over the library's threads. Products are in GemmBackend's raw form:
// row-major, C[m×n] = alpha·op(A)·op(B) + beta·C, lda/ldb/ldc are row strides in elements.
#pragma once

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "eigennet/gemm/gemm.hpp"
#include "gemm/parallel_for.hpp"

namespace eigennet {

// A product on the calling thread.
template <typename Scalar>
using SequentialGemm = void (*)(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
                                Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

// Eigen's blocked kernel on the calling thread (eigen_backend.cpp), with packing buffers kept
// per thread and shape, so a repeated product allocates nothing. beta == 0 overwrites C,
// ignoring NaNs in it.
template <typename Scalar>
void eigen_sequential(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                      const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

// Splits C over the threads that threads_for() gives the product's m·n·k multiply-adds, each
// thread computing its own contiguous part of C with `sequential`. The longer side of C is
// split: the operand that is not split is packed by every thread, and it is the smaller one
// that way. Every kernel goes through this split, so that all of them divide the work alike and
// each outside library runs single-threaded inside it (see each kernel's file).
template <typename Scalar>
void split_gemm(SequentialGemm<Scalar> sequential, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha,
                const Scalar* a, Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  if (m == 0 || n == 0) return;
  const int threads = threads_for(m * n * k);
  if (threads <= 1) return sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const bool split_rows = m >= n;
  const Index extent = split_rows ? m : n;
  parallel_for(threads, threads, [&](Index part, int) {
    const Index begin = extent * part / threads, end = extent * (part + 1) / threads;
    if (begin == end) return;
    if (split_rows) {
      // Rows [begin, end) of op(A): row offset in A (None) or column offset in A (Transpose).
      const Scalar* a_part = op_a == Op::None ? a + begin * lda : a + begin;
      sequential(op_a, op_b, end - begin, n, k, alpha, a_part, lda, b, ldb, beta, c + begin * ldc, ldc);
    } else {
      const Scalar* b_part = op_b == Op::None ? b + begin : b + begin * ldb;
      sequential(op_a, op_b, m, end - begin, k, alpha, a, lda, b_part, ldb, beta, c + begin, ldc);
    }
  });
}

template <typename Scalar>
constexpr GemmScalar scalar_of() {
  return std::is_same<Scalar, float>::value ? GemmScalar::Float : GemmScalar::Double;
}

// A product as the planner keys it (plan.hpp): scalar, op(A), op(B), m, n, k and the threads
// split_gemm divides it over.
template <typename Scalar>
GemmProduct gemm_product_key(Op op_a, Op op_b, Index m, Index n, Index k) {
  return {scalar_of<Scalar>(), op_a, op_b, m, n, k, threads_for(m * n * k)};
}

// The products' own CPU path, as gemm() takes it with no backend plugged in: bf16 where asked
// (precision.hpp), else the pinned or planned kernel (plan.hpp) split over the threads. For a
// plugged-in backend that keeps some products on the CPU (the cuBLAS one).
template <typename Scalar>
void builtin_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                  const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

// Times `count` ways of computing one product, run(i) for i in [0, count), on the caller's real
// operands: C (m×n, row stride ldc) is copied first and restored before every run and at the end,
// so the caller's product then starts from the original C. One untimed run each (first-call
// costs: packing space, JIT code, page faults, a GPU's buffers), then rounds in turn, so that a
// burst of load from elsewhere hits every way alike; seconds[i] is way i's fastest run. About
// 2 ms of rounds, at least 3 and at most 20. Allocates (the copy of C): for planning only. A run
// that throws leaves C as it was, and the exception goes on to the caller.
template <typename Scalar, typename Run>
void time_alternatives(int count, const Run& run, Scalar* c, Index m, Index n, Index ldc, double* seconds) {
  using Clock = std::chrono::steady_clock;
  Eigen::Map<Matrix<Scalar>, 0, Eigen::OuterStride<>> c_map(c, m, n, Eigen::OuterStride<>(ldc));
  const Matrix<Scalar> saved = c_map;
  const auto timed = [&](int i) {
    c_map = saved;
    const auto start = Clock::now();
    run(i);
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  try {
    double quickest = std::numeric_limits<double>::infinity();
    for (int i = 0; i < count; ++i) quickest = std::min(quickest, timed(i));
    const int rounds = int(std::clamp(2e-3 / std::max(quickest, 1e-9), 3.0, 20.0));
    for (int i = 0; i < count; ++i) seconds[i] = std::numeric_limits<double>::infinity();
    for (int r = 0; r < rounds; ++r)
      for (int i = 0; i < count; ++i) seconds[i] = std::min(seconds[i], timed(i));
  } catch (...) {
    c_map = saved;
    throw;
  }
  c_map = saved;
}

// cblas-style libraries want every size and leading dimension in their integer type and
// lda ≥ the stored row length (> 0); empty products and anything unusual take Eigen's kernel.
inline bool blas_can_take(Op op_a, Op op_b, Index m, Index n, Index k, Index lda, Index ldb, Index ldc,
                          Index largest) {
  if (m == 0 || n == 0 || k == 0) return false;
  if (lda < (op_a == Op::None ? k : m) || ldb < (op_b == Op::None ? n : k) || ldc < n) return false;
  for (Index v : {m, n, k, lda, ldb, ldc})
    if (v > largest) return false;
  return true;
}

// The sequential kernel of each backend for one scalar type, nullptr where this build has none
// (OpenBLAS and oneDNN are compiled only when found; oneDNN 2.6 has no double GEMM).
template <typename Scalar>
SequentialGemm<Scalar> sequential_kernel(GemmKernel kernel);

// simd_backend.cpp: eigennet's own kernel (float and double), in the widest instruction set this
// CPU has (chosen at run time); where it has neither, simd_sequential runs Eigen's kernel and
// gemm_kernel_available says the kernel is not there.
enum class SimdIsa { None, Avx2, Avx512 };
SimdIsa simd_isa();
const char* simd_isa_name(SimdIsa isa);  // "none", "avx2", "avx512"
// For tests and benchmarks: run a narrower instruction set than the CPU's (throws naming both if
// the CPU lacks it). Not while products run on other threads.
void set_simd_isa(SimdIsa isa);
template <typename Scalar>
void simd_sequential(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                     const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

#ifdef EIGENNET_HAVE_OPENBLAS
// openblas_backend.cpp: single-threaded cblas_sgemm / cblas_dgemm.
void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                         const float* b, Index ldb, float beta, float* c, Index ldc);
void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
                         const double* b, Index ldb, double beta, double* c, Index ldc);
#endif
#ifdef EIGENNET_HAVE_ONEDNN
// onednn_backend.cpp: single-threaded dnnl_sgemm (float only).
void onednn_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                       const float* b, Index ldb, float beta, float* c, Index ldc);
// bf16_backend.cpp: the whole product with bf16-rounded operands (gemm/precision.hpp), on the
// product's threads; and why bf16 cannot run on this CPU (empty if it can).
void onednn_bf16_gemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                      const float* b, Index ldb, float beta, float* c, Index ldc);
std::string onednn_bf16_unavailable_reason();
#endif

}  // namespace eigennet

// Eigen's GEMM kernel, the one every build has (the planner in gemm.cpp splits it over threads).
//
// Why not simply `C.noalias() = A * B`? Eigen's product allocates its packing buffers on
// every call (on the heap once they exceed EIGEN_STACK_ALLOCATION_LIMIT, and always on the
// parallel path). A training step must not allocate, so this file calls Eigen's sequential
// blocked kernel (internal::general_matrix_matrix_product) with packing buffers that are
// allocated once per (thread, shape) and reused, and split_gemm splits large products itself.
//
// GCC 12's tuning for AMD Zen (-march=native on Zen 2/3/4 implies -mtune=znver*) makes Eigen's
// GEMM kernel ~30% slower than the same instructions tuned for Haswell: on this Zen 3, W1's
// 40×1000×784 product runs at 42 GFLOP/s on one core with znver3 tuning and 69 with Haswell's
// (tools/bench/README.md). Tuning changes instruction choice and scheduling only, not the
// instruction set or Eigen's alignment, so this one file may be tuned apart from the rest.
#if defined(__tune_znver1__) || defined(__tune_znver2__) || defined(__tune_znver3__) || defined(__tune_znver4__)
#pragma GCC target("tune=haswell")
#endif

#include <Eigen/Core>
#include <memory>
#include <vector>

#include "gemm/backend.hpp"

namespace eigennet {
namespace {

// Packing buffers for one product shape, sized as Eigen sizes them for a row-major result.
template <typename Scalar>
using Blocking = Eigen::internal::gemm_blocking_space<Eigen::RowMajor, Scalar, Scalar, Eigen::Dynamic,
                                                      Eigen::Dynamic, Eigen::Dynamic, 1, false>;

template <typename Scalar>
struct CachedBlocking {
  Index m, n, k;
  std::unique_ptr<Blocking<Scalar>> blocking;
};

// One small cache per thread: a training loop uses a handful of shapes.
template <typename Scalar>
Blocking<Scalar>& blocking_for(Index m, Index n, Index k) {
  thread_local std::vector<CachedBlocking<Scalar>> cache;
  for (auto& entry : cache)
    if (entry.m == m && entry.n == n && entry.k == k) return *entry.blocking;
  auto blocking = std::make_unique<Blocking<Scalar>>(m, n, k, 1, true);
  blocking->allocateAll();
  cache.push_back({m, n, k, std::move(blocking)});
  return *cache.back().blocking;
}

// C[m×n] += alpha · op(A)[m×k] · op(B)[k×n], sequential, raw row-major pointers.
template <typename Scalar, int LhsOrder, int RhsOrder>
void kernel(Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
            Index ldb, Scalar* c, Index ldc) {
  using Product = Eigen::internal::general_matrix_matrix_product<Index, Scalar, LhsOrder, false, Scalar,
                                                                 RhsOrder, false, Eigen::RowMajor, 1>;
  Product::run(m, n, k, a, lda, b, ldb, c, 1, ldc, alpha, blocking_for<Scalar>(m, n, k));
}

template <typename Scalar>
void kernel_dispatch(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
                     Index lda, const Scalar* b, Index ldb, Scalar* c, Index ldc) {
  // A row-major A read as op(A) = Aᵀ is the same memory as a column-major matrix.
  constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
  if (op_a == Op::None && op_b == Op::None) kernel<Scalar, R, R>(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  if (op_a == Op::None && op_b == Op::Transpose) kernel<Scalar, R, C>(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  if (op_a == Op::Transpose && op_b == Op::None) kernel<Scalar, C, R>(m, n, k, alpha, a, lda, b, ldb, c, ldc);
  if (op_a == Op::Transpose && op_b == Op::Transpose) kernel<Scalar, C, C>(m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

}  // namespace

// The kernel accumulates, so beta is applied first (beta == 0 overwrites, ignoring NaNs in C).
template <typename Scalar>
void eigen_sequential(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                      const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  Eigen::Map<Matrix<Scalar>, 0, Eigen::OuterStride<>> c_map(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == Scalar(0))
    c_map.setZero();
  else if (beta != Scalar(1))
    c_map *= beta;
  if (k > 0) kernel_dispatch(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

template void eigen_sequential<float>(Op, Op, Index, Index, Index, float, const float*, Index, const float*, Index,
                                      float, float*, Index);
template void eigen_sequential<double>(Op, Op, Index, Index, Index, double, const double*, Index, const double*,
                                       Index, double, double*, Index);

}  // namespace eigennet

// What the GEMM backends share (internal): Eigen's kernel on one thread, and the split of a
// product over the library's threads. Products are in GemmBackend's raw form: row-major,
// C[m×n] = alpha·op(A)·op(B) + beta·C, lda/ldb/ldc are row strides in elements.
#pragma once

#include <memory>

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

// The built-in backend (eigen_backend.cpp): eigen_sequential, split by split_gemm.
template <typename Scalar>
void eigen_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

// Splits C over the threads that threads_for() gives the product's m·n·k multiply-adds, each
// thread computing its own contiguous part of C with `sequential`. The longer side of C is
// split: the operand that is not split is packed by every thread, and it is the smaller one
// that way.
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

#ifdef EIGENNET_HAVE_OPENBLAS
// The OpenBLAS backend (openblas_backend.cpp, built with meson -Dblas when OpenBLAS is found).
std::shared_ptr<GemmBackend> make_openblas_backend();
#endif

}  // namespace eigennet

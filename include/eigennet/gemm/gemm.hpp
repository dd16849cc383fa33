// The GEMM seam: every matrix product of eigennet goes through gemm() below, so that one
// place decides how products run (Eigen's kernels, or a cuBLAS/BLAS backend plugged in).
#pragma once

#include <memory>

#include "eigennet/types.hpp"

namespace eigennet {

enum class Op { None, Transpose };

// C = alpha · op(A) · op(B) + beta · C, all row-major.
//   op(A) is m×k, op(B) is k×n, C is m×n (C must already have that shape).
// Throws std::invalid_argument naming the shapes if they do not agree. With beta == 0, C's
// previous contents are ignored (NaNs in it do not propagate).
template <typename Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, ConstMatrixRef<Scalar> a, ConstMatrixRef<Scalar> b,
          Scalar beta, MatrixRef<Scalar> c);

// A backend receives products in raw row-major form (as cblas_?gemm with CblasRowMajor):
// C[m×n] = alpha·op(A)·op(B) + beta·C, lda/ldb/ldc are row strides in elements.
class GemmBackend {
 public:
  virtual ~GemmBackend() = default;
  virtual const char* name() const = 0;
  virtual void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a,
                     Index lda, const float* b, Index ldb, float beta, float* c, Index ldc) = 0;
  virtual void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a,
                     Index lda, const double* b, Index ldb, double beta, double* c, Index ldc) = 0;
};

// Installs a backend for all later gemm() calls; nullptr restores the built-in Eigen backend.
void set_gemm_backend(std::shared_ptr<GemmBackend> backend);

// The OpenBLAS backend ("openblas+eigen"), or nullptr where eigennet was built without it
// (meson -Dblas=disabled, or no OpenBLAS found). Where it was built it is the backend in use from
// the start; set_gemm_backend(nullptr) switches to Eigen's kernels. It splits products over
// threads as the built-in backend does and runs single-threaded cblas_sgemm/cblas_dgemm on each
// part (it sets OpenBLAS's own thread count to 1), except for thin products (k < 128, n ≥ 16),
// which stay on Eigen's kernel, faster for them (measurements: tools/bench/README.md).
std::shared_ptr<GemmBackend> openblas_gemm_backend();
// Name of the backend in use ("eigen" for the built-in one).
const char* gemm_backend_name();

// The built-in backend: Eigen's blocked GEMM kernels, with packing buffers kept per thread
// and per shape, so a repeated product allocates nothing; split over the library's threads
// (threads.hpp; by rows or columns of C) when the product is large enough to pay for it.

}  // namespace eigennet

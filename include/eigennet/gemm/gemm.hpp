// The GEMM seam: every matrix product of eigennet goes through gemm() below, and this seam alone
// decides where it runs: on a backend plugged in with set_gemm_backend (the cuBLAS one), else on
// one of the CPU kernels built in (Eigen's always; OpenBLAS's and oneDNN's where found at
// configure time), pinned (Eigen's by default) or chosen per product by the planner
// (gemm/plan.hpp; EIGENNET_GEMM=auto).
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

// Installs a backend for all later gemm() calls, in place of the planner; nullptr gives the
// products back to the planner (the default).
void set_gemm_backend(std::shared_ptr<GemmBackend> backend);

// The OpenBLAS kernel as a backend for set_gemm_backend: every product on single-threaded
// cblas_?gemm inside eigennet's split, named "openblas"; nullptr where eigennet was built without
// OpenBLAS. From before the planner; pin_gemm_kernel(GemmKernel::OpenBlas) does the same.
std::shared_ptr<GemmBackend> openblas_gemm_backend();

// What runs the products now: the plugged-in backend's name; else the pinned kernel's name
// ("eigen", "openblas", "onednn"), or "auto" / "all" while the planner measures float products
// (see plan.hpp); where the choice leaves float products one candidate, that kernel's name ("eigen"
// for "auto" in a build without OpenBLAS, oneDNN or not).
const char* gemm_backend_name();

}  // namespace eigennet

#include "eigennet/gemm/plan.hpp"
#include "eigennet/gemm/precision.hpp"

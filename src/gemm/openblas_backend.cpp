// OpenBLAS's GEMM kernel for the planner (gemm.cpp), compiled where meson finds OpenBLAS
// (Debian libopenblas-dev; option -Dblas, auto).
//
// Threads: eigennet splits products itself (split_gemm) and OpenBLAS runs single-threaded on
// each part: its own threaded driver allocates on every call, which a training step must not,
// and one split for every kernel keeps the planner's comparison fair.
//
// Allocation: sequential cblas_?gemm keeps its packing buffers in its own pool, but Debian's
// OpenBLAS 0.3.21 still allocates once per call on some products, depending on the kernels it
// picks for the CPU: on a Zen 5 (its own core detection) cblas_dgemm of 40×10×1000 (NN, row-major)
// allocates on every call, while with OPENBLAS_CORETYPE=Haswell it does not (measured with a
// malloc counter). The planner therefore counts OpenBLAS as a kernel that allocates
// (gemm_kernel_allocates): `auto` does not measure it, `all` and pinning still use it.
#include <cblas.h>

#include <climits>

#include "gemm/backend.hpp"

namespace eigennet {
namespace {

CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::None ? CblasNoTrans : CblasTrans; }

// OpenBLAS's own thread count, set to 1 before its first product.
void single_threaded() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

}  // namespace

void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                         const float* b, Index ldb, float beta, float* c, Index ldc) {
  if (!blas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc, INT_MAX))
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  single_threaded();
  cblas_sgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b,
              int(ldb), beta, c, int(ldc));
}
void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
                         const double* b, Index ldb, double beta, double* c, Index ldc) {
  if (!blas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc, INT_MAX))
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  single_threaded();
  cblas_dgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b,
              int(ldb), beta, c, int(ldc));
}

}  // namespace eigennet

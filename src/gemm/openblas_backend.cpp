// The OpenBLAS backend of the GEMM seam, built with meson -Dblas when OpenBLAS is found.
#include <cblas.h>

#include <climits>
#include <memory>

#include "gemm/backend.hpp"

namespace eigennet {
namespace {

CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::None ? CblasNoTrans : CblasTrans; }

// cblas wants every size and leading dimension in an int and lda ≥ the stored row length
// (> 0); empty products and anything unusual take Eigen's path.
bool cblas_can_take(Op op_a, Op op_b, Index m, Index n, Index k, Index lda, Index ldb, Index ldc) {
  if (m == 0 || n == 0 || k == 0) return false;
  if (lda < (op_a == Op::None ? k : m) || ldb < (op_b == Op::None ? n : k) || ldc < n) return false;
  for (Index v : {m, n, k, lda, ldb, ldc})
    if (v > INT_MAX) return false;
  return true;
}

// A product on the calling thread with OpenBLAS's single-threaded cblas (threads come from
// split_gemm, so that both backends split the same way, and because OpenBLAS's own threaded
// driver allocates on every call, which a training step must not).
void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                         const float* b, Index ldb, float beta, float* c, Index ldc) {
  if (!cblas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc))
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cblas_sgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b,
              int(ldb), beta, c, int(ldc));
}
void openblas_sequential(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
                         const double* b, Index ldb, double beta, double* c, Index ldc) {
  if (!cblas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc))
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  cblas_dgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), int(m), int(n), int(k), alpha, a, int(lda), b,
              int(ldb), beta, c, int(ldc));
}

// Single-threaded cblas_sgemm / cblas_dgemm on each thread's part of C, except for the thin
// products that Eigen's kernel does faster here (measured per product and per workload in
// tools/bench/README.md): k < 128 with n ≥ 16, i.e. the weight gradient Xᵀ·dY of a small batch
// (W1: 784×1000×40, 1.2× OpenBLAS) and dY·Wᵀ into few outputs. OpenBLAS takes the rest: large
// products (W4: 1.1× Eigen) and narrow ones (n < 16, e.g. 1000×10×40: 1.5×).
class OpenBlasBackend final : public GemmBackend {
 public:
  OpenBlasBackend() { openblas_set_num_threads(1); }
  const char* name() const override { return "openblas+eigen"; }
  void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
             Index ldb, float beta, float* c, Index ldc) override {
    split_gemm(sequential_for<float>(n, k), op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
             const double* b, Index ldb, double beta, double* c, Index ldc) override {
    split_gemm(sequential_for<double>(n, k), op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

 private:
  template <typename Scalar>
  static SequentialGemm<Scalar> sequential_for(Index n, Index k) {
    if (k < 128 && n >= 16) return eigen_sequential<Scalar>;
    return openblas_sequential;
  }
};

}  // namespace

std::shared_ptr<GemmBackend> make_openblas_backend() { return std::make_shared<OpenBlasBackend>(); }

}  // namespace eigennet

// The GEMM seam: shape checks, and dispatch to the backend in use (a plugged-in one, else the
// built-in Eigen backend of eigen_backend.cpp). Built with OpenBLAS (meson -Dblas,
// EIGENNET_HAVE_OPENBLAS), the OpenBLAS backend of openblas_backend.cpp is the one in use from
// the start; Eigen's kernel stays one set_gemm_backend(nullptr) away.
#include "eigennet/gemm/gemm.hpp"

#include <stdexcept>

#include "gemm/backend.hpp"

namespace eigennet {
namespace {

std::shared_ptr<GemmBackend>& backend_slot() {
  static std::shared_ptr<GemmBackend> backend = openblas_gemm_backend();
  return backend;
}


void call_backend(GemmBackend& be, Op oa, Op ob, Index m, Index n, Index k, float alpha, const float* a,
                  Index lda, const float* b, Index ldb, float beta, float* c, Index ldc) {
  be.sgemm(oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void call_backend(GemmBackend& be, Op oa, Op ob, Index m, Index n, Index k, double alpha, const double* a,
                  Index lda, const double* b, Index ldb, double beta, double* c, Index ldc) {
  be.dgemm(oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

template <typename Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, ConstMatrixRef<Scalar> a, ConstMatrixRef<Scalar> b, Scalar beta,
          MatrixRef<Scalar> c) {
  const Index m = op_a == Op::None ? a.rows() : a.cols();
  const Index k = op_a == Op::None ? a.cols() : a.rows();
  const Index kb = op_b == Op::None ? b.rows() : b.cols();
  const Index n = op_b == Op::None ? b.cols() : b.rows();
  if (k != kb || c.rows() != m || c.cols() != n)
    throw std::invalid_argument("gemm: op(A) is " + shape_string(m, k) + ", op(B) is " + shape_string(kb, n) +
                                ", C is " + shape_of(c) + " (expected " + shape_string(m, n) + ")");
  const Index lda = a.outerStride(), ldb = b.outerStride(), ldc = c.outerStride();
  if (auto& backend = backend_slot())
    call_backend(*backend, op_a, op_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  else
    eigen_gemm(op_a, op_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
}

template void gemm<float>(Op, Op, float, ConstMatrixRef<float>, ConstMatrixRef<float>, float, MatrixRef<float>);
template void gemm<double>(Op, Op, double, ConstMatrixRef<double>, ConstMatrixRef<double>, double,
                           MatrixRef<double>);

void set_gemm_backend(std::shared_ptr<GemmBackend> backend) { backend_slot() = std::move(backend); }

std::shared_ptr<GemmBackend> openblas_gemm_backend() {
#ifdef EIGENNET_HAVE_OPENBLAS
  return make_openblas_backend();
#else
  return nullptr;
#endif
}
const char* gemm_backend_name() { return backend_slot() ? backend_slot()->name() : "eigen"; }

}  // namespace eigennet

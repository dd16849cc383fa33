// The built-in GEMM backend and the seam that dispatches to a plugged-in one.
//
// Why not simply `C.noalias() = A * B`? Eigen's product allocates its packing buffers on
// every call (on the heap once they exceed EIGEN_STACK_ALLOCATION_LIMIT, and always on the
// parallel path). A training step must not allocate, so this file calls Eigen's sequential
// blocked kernel (internal::general_matrix_matrix_product) with packing buffers that are
// allocated once per (thread, shape) and reused, and splits large products over OpenMP
// threads itself.
//
// Built with OpenBLAS (meson -Dblas, EIGENNET_HAVE_OPENBLAS), an OpenBLAS backend is the one in
// use from the start: single-threaded cblas calls on the same per-thread parts of C. Eigen's
// kernel stays one set_gemm_backend(nullptr) away.
//
// GCC 12's tuning for AMD Zen (-march=native on Zen 2/3/4 implies -mtune=znver*) makes Eigen's
// GEMM kernel ~30% slower than the same instructions tuned for Haswell: on this Zen 3, W1's
// 40×1000×784 product runs at 42 GFLOP/s on one core with znver3 tuning and 69 with Haswell's
// (tools/bench/README.md). Tuning changes instruction choice and scheduling only, not the
// instruction set or Eigen's alignment, so this one file may be tuned apart from the rest.
#if defined(__tune_znver1__) || defined(__tune_znver2__) || defined(__tune_znver3__) || defined(__tune_znver4__)
#pragma GCC target("tune=haswell")
#endif

#include "eigennet/gemm/gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <climits>
#include <vector>

#include "gemm/parallel_for.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef EIGENNET_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace eigennet {
namespace {

std::shared_ptr<GemmBackend> default_backend();

std::shared_ptr<GemmBackend>& backend_slot() {
  static std::shared_ptr<GemmBackend> backend = default_backend();
  return backend;
}

int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
int& thread_setting() {
  static int threads = default_threads();
  return threads;
}

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

// C[m×n] = alpha · op(A) · op(B) + beta · C on the calling thread, with Eigen's kernel. The
// kernel accumulates, so beta is applied first (beta == 0 overwrites, ignoring NaNs in C).
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

#ifdef EIGENNET_HAVE_OPENBLAS
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

// The same with OpenBLAS's single-threaded cblas (threads come from split_gemm below, so that
// both backends split the same way, and because OpenBLAS's own threaded driver allocates on
// every call, which a training step must not).
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
#endif

enum class Kernel { Eigen, OpenBlas };

template <typename Scalar>
void sequential(Kernel kernel, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
                Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
#ifdef EIGENNET_HAVE_OPENBLAS
  if (kernel == Kernel::OpenBlas) return openblas_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
  (void)kernel;
  eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Splits C over the threads that threads_for() gives the product's m·n·k multiply-adds, each
// thread computing its own contiguous part of C with the sequential kernel. The longer side of C
// is split: the operand that is not split is packed by every thread, and it is the smaller one
// that way.
template <typename Scalar>
void split_gemm(Kernel kernel, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
                Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  if (m == 0 || n == 0) return;
  const int threads = threads_for(m * n * k);
  if (threads <= 1) return sequential(kernel, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const bool split_rows = m >= n;
  const Index extent = split_rows ? m : n;
  parallel_for(threads, threads, [&](Index part, int) {
    const Index begin = extent * part / threads, end = extent * (part + 1) / threads;
    if (begin == end) return;
    if (split_rows) {
      // Rows [begin, end) of op(A): row offset in A (None) or column offset in A (Transpose).
      const Scalar* a_part = op_a == Op::None ? a + begin * lda : a + begin;
      sequential(kernel, op_a, op_b, end - begin, n, k, alpha, a_part, lda, b, ldb, beta, c + begin * ldc, ldc);
    } else {
      const Scalar* b_part = op_b == Op::None ? b + begin : b + begin * ldb;
      sequential(kernel, op_a, op_b, m, end - begin, k, alpha, a, lda, b_part, ldb, beta, c + begin, ldc);
    }
  });
}

template <typename Scalar>
void eigen_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  split_gemm(Kernel::Eigen, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#ifdef EIGENNET_HAVE_OPENBLAS
// The OpenBLAS backend: single-threaded cblas_sgemm / cblas_dgemm on each thread's part of C,
// except for the thin products that Eigen's kernel does faster here (measured per product and
// per workload in tools/bench/README.md): k < 128 with n ≥ 16, i.e. the weight gradient Xᵀ·dY of
// a small batch (W1: 784×1000×40, 1.2× OpenBLAS) and dY·Wᵀ into few outputs. OpenBLAS takes
// the rest: large products (W4: 1.1× Eigen) and narrow ones (n < 16, e.g. 1000×10×40: 1.5×).
class OpenBlasBackend final : public GemmBackend {
 public:
  OpenBlasBackend() { openblas_set_num_threads(1); }
  const char* name() const override { return "openblas+eigen"; }
  void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
             Index ldb, float beta, float* c, Index ldc) override {
    split_gemm(kernel_for(n, k), op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
             const double* b, Index ldb, double beta, double* c, Index ldc) override {
    split_gemm(kernel_for(n, k), op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

 private:
  static Kernel kernel_for(Index n, Index k) { return k < 128 && n >= 16 ? Kernel::Eigen : Kernel::OpenBlas; }
};

std::shared_ptr<GemmBackend> default_backend() { return std::make_shared<OpenBlasBackend>(); }
#else
std::shared_ptr<GemmBackend> default_backend() { return nullptr; }
#endif

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
  return std::make_shared<OpenBlasBackend>();
#else
  return nullptr;
#endif
}
const char* gemm_backend_name() { return backend_slot() ? backend_slot()->name() : "eigen"; }

void set_gemm_threads(int threads) { thread_setting() = std::max(1, threads); }
int gemm_threads() { return thread_setting(); }

}  // namespace eigennet

// The host-pointer GEMM backend: large products are copied to the GPU, multiplied by cuBLAS and
// copied back; small ones stay on the CPU, where the copies would cost more than the product.
#include <Eigen/Core>
#include <algorithm>
#include <mutex>

#include "runtime.hpp"

namespace eigennet {
namespace {

using cuda::detail::check_cuda;

// A device buffer that grows to the largest product seen (the only allocations of the backend).
class GrowingBuffer {
 public:
  ~GrowingBuffer() { cuda::detail::device_free(data_); }
  void* reserve(std::size_t bytes) {
    if (bytes > capacity_) {
      cuda::detail::device_free(data_);
      data_ = nullptr;
      capacity_ = 0;
      data_ = cuda::detail::device_allocate(bytes, "cuda_gemm_backend operand buffer");
      capacity_ = bytes;
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// The CPU side for small products: Eigen's kernel on the same row-major operands. (The seam's
// built-in backend is not reachable from a plugged-in one; this is the same Eigen product,
// without its per-thread packing buffers and OpenMP split.)
template <typename Scalar>
void cpu_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
              Index ldb, Scalar beta, Scalar* c, Index ldc) {
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const Matrix<Scalar>, 0, Stride>;
  Eigen::Map<Matrix<Scalar>, 0, Stride> cm(c, m, n, Stride(ldc));
  const ConstMap am(a, op_a == Op::None ? m : k, op_a == Op::None ? k : m, Stride(lda));
  const ConstMap bm(b, op_b == Op::None ? k : n, op_b == Op::None ? n : k, Stride(ldb));
  if (beta == Scalar(0))
    cm.setZero();
  else
    cm *= beta;
  if (op_a == Op::None && op_b == Op::None) cm.noalias() += alpha * am * bm;
  if (op_a == Op::None && op_b == Op::Transpose) cm.noalias() += alpha * am * bm.transpose();
  if (op_a == Op::Transpose && op_b == Op::None) cm.noalias() += alpha * am.transpose() * bm;
  if (op_a == Op::Transpose && op_b == Op::Transpose) cm.noalias() += alpha * am.transpose() * bm.transpose();
}

class CudaGemmBackend final : public GemmBackend {
 public:
  explicit CudaGemmBackend(double min_flops) : min_flops_(min_flops) {}
  const char* name() const override { return "cublas+eigen"; }

  void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
             Index ldb, float beta, float* c, Index ldc) override {
    run(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda, const double* b,
             Index ldb, double beta, double* c, Index ldc) override {
    run(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

 private:
  // Shapes: op(A) m×k, op(B) k×n, C m×n, row strides lda/ldb/ldc. On the device each operand is
  // packed (row stride = its width), so strided host blocks copy as 2-D blocks.
  template <typename Scalar>
  void run(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
           Index ldb, Scalar beta, Scalar* c, Index ldc) {
    // An empty product stays here too: cuBLAS refuses a leading dimension of 0 (k = 0 gives one).
    const double flops = 2.0 * double(m) * double(n) * double(k);
    if (flops == 0 || flops < min_flops_) return cpu_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    const Index a_rows = op_a == Op::None ? m : k, a_cols = op_a == Op::None ? k : m;
    const Index b_rows = op_b == Op::None ? k : n, b_cols = op_b == Op::None ? n : k;
    std::lock_guard<std::mutex> lock(mutex_);  // one set of device buffers
    auto* da = static_cast<Scalar*>(a_.reserve(sizeof(Scalar) * a_rows * a_cols));
    auto* db = static_cast<Scalar*>(b_.reserve(sizeof(Scalar) * b_rows * b_cols));
    auto* dc = static_cast<Scalar*>(c_.reserve(sizeof(Scalar) * m * n));
    auto copy = [&](void* to, std::size_t to_pitch, const void* from, std::size_t from_pitch, Index rows, Index cols,
                    cudaMemcpyKind kind, const char* what) {
      check_cuda(cudaMemcpy2D(to, to_pitch, from, from_pitch, cols * sizeof(Scalar), rows, kind), [&] {
        return std::string("cuda_gemm_backend: cudaMemcpy2D of ") + what + " " + shape_string(rows, cols);
      });
    };
    const std::size_t s = sizeof(Scalar);
    copy(da, a_cols * s, a, lda * s, a_rows, a_cols, cudaMemcpyHostToDevice, "A");
    copy(db, b_cols * s, b, ldb * s, b_rows, b_cols, cudaMemcpyHostToDevice, "B");
    if (beta != Scalar(0)) copy(dc, n * s, c, ldc * s, m, n, cudaMemcpyHostToDevice, "C");
    cuda::detail::gemm_rows<Scalar>(cuda::detail::default_context(), op_a, op_b, m, n, k, alpha, da, a_cols, db,
                                    b_cols, beta, dc, n);
    copy(c, ldc * s, dc, n * s, m, n, cudaMemcpyDeviceToHost, "C");  // waits for the product
  }

  double min_flops_;
  std::mutex mutex_;
  GrowingBuffer a_, b_, c_;
};

}  // namespace

std::shared_ptr<GemmBackend> cuda_gemm_backend() { return cuda_gemm_backend(kCudaGemmCrossoverFlops); }

std::shared_ptr<GemmBackend> cuda_gemm_backend(double min_flops) {
  if (!cuda::query_device().available) return nullptr;
  return std::make_shared<CudaGemmBackend>(min_flops);
}

}  // namespace eigennet

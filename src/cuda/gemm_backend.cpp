// The host-pointer GEMM backend: a product is copied to the GPU, multiplied by cuBLAS and copied
// back where that is faster than the CPU's own path, measured per product (or, asked for, from a
// fixed size on); the others stay on the CPU, where the copies would cost more than the product.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "gemm/backend.hpp"
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

std::atomic<std::size_t> device_products{0};

// One measured product: where it runs. The key is the CPU planner's, with whether beta is 0,
// which decides if C is copied in.
struct Placement {
  GemmProduct product;
  bool beta_zero;
  bool gpu;
  bool same_product(const Placement& o) const { return product == o.product && beta_zero == o.beta_zero; }
};

// The measured placements: readers scan the published entries without a lock (an entry is
// written before `size` is raised past it and never changed after); writers take the mutex. A
// full table measures no more products: those follow the fixed rule of kUnmeasuredMinFlops.
class Placements {
 public:
  static constexpr int kCapacity = 1024;
  const Placement* find(const Placement& key) const {
    const int n = size_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i)
      if (entries_[i].same_product(key)) return &entries_[i];
    return nullptr;
  }
  bool full() const { return size_.load(std::memory_order_acquire) == kCapacity; }
  // Records `p` unless another thread measured the product first; returns the placement in force.
  bool add(const Placement& p) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const Placement* other = find(p)) return other->gpu;
    const int n = size_.load(std::memory_order_relaxed);
    if (n == kCapacity) return p.gpu;
    entries_[n] = p;
    size_.store(n + 1, std::memory_order_release);
    return p.gpu;
  }

 private:
  std::unique_ptr<Placement[]> entries_{new Placement[kCapacity]};
  std::atomic<int> size_{0};
  std::mutex mutex_;
};

// Beyond the table's capacity, a product goes to the GPU from this size on without measuring.
constexpr double kUnmeasuredMinFlops = 1e9;

class CudaGemmBackend final : public GemmBackend {
 public:
  // min_flops < 0: measure each product; otherwise the fixed crossover.
  explicit CudaGemmBackend(double min_flops) : min_flops_(min_flops) {}
  const char* name() const override { return min_flops_ < 0 ? "cublas+cpu, measured" : "cublas+cpu"; }

  void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
             Index ldb, float beta, float* c, Index ldc) override {
    run(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda, const double* b,
             Index ldb, double beta, double* c, Index ldc) override {
    run(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

 private:
  template <typename Scalar>
  void run(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
           Index ldb, Scalar beta, Scalar* c, Index ldc) {
    // An empty product stays here: cuBLAS refuses a leading dimension of 0 (k = 0 gives one).
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const bool gpu = flops > 0 && (min_flops_ >= 0 ? flops >= min_flops_
                                                   : measured_on_gpu(flops, op_a, op_b, m, n, k, alpha, a, lda, b,
                                                                     ldb, beta, c, ldc));
    if (gpu)
      device_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
      builtin_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  // Where the product runs faster, timed on its first call both ways on the caller's operands
  // (time_alternatives: C restored between trials), the CPU way being the library's own
  // (builtin_gemm: the planner's kernel over the threads). Where the GPU fails on it (e.g. its
  // operands do not fit the device's memory), the product is placed on the CPU.
  template <typename Scalar>
  bool measured_on_gpu(double flops, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
                       Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
    Placement key{gemm_product_key<Scalar>(op_a, op_b, m, n, k), beta == Scalar(0), false};
    if (const Placement* known = placements_.find(key)) return known->gpu;
    if (placements_.full()) return flops >= kUnmeasuredMinFlops;
    double seconds[2];
    try {
      time_alternatives<Scalar>(
          2,
          [&](int way) {
            if (way == 0)
              builtin_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            else
              device_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
          },
          c, m, n, ldc, seconds);
      key.gpu = seconds[1] < seconds[0];
    } catch (const cuda::CudaError&) {
      key.gpu = false;
    }
    return placements_.add(key);
  }

  // On the GPU: each operand copied into a packed device buffer (row stride = its width, so
  // strided host blocks copy as 2-D blocks), cuBLAS, C copied back (which waits for the product).
  // Shapes: op(A) m×k, op(B) k×n, C m×n, row strides lda/ldb/ldc.
  template <typename Scalar>
  void device_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                   const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
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
    copy(c, ldc * s, dc, n * s, m, n, cudaMemcpyDeviceToHost, "C");
    device_products.fetch_add(1, std::memory_order_relaxed);
  }

  double min_flops_;
  Placements placements_;
  std::mutex mutex_;
  GrowingBuffer a_, b_, c_;
};

}  // namespace

std::size_t cuda_gemm_device_products() { return device_products.load(); }

std::shared_ptr<GemmBackend> cuda_gemm_backend() {
  if (!cuda::query_device().available) return nullptr;
  return std::make_shared<CudaGemmBackend>(-1.0);
}

std::shared_ptr<GemmBackend> cuda_gemm_backend(double min_flops) {
  if (!(min_flops >= 0))
    throw std::invalid_argument("cuda_gemm_backend: min_flops must be ≥ 0, got " + std::to_string(min_flops));
  if (!cuda::query_device().available) return nullptr;
  return std::make_shared<CudaGemmBackend>(min_flops);
}

}  // namespace eigennet

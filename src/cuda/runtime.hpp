// The GPU part's runtime plumbing, for its .cpp files: the one device-allocation function, a
// stream with its cuBLAS handle (Context), and the row-major cuBLAS GEMM on raw pointers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "eigennet/cuda/device.hpp"
#include "eigennet/gemm/gemm.hpp"

namespace eigennet {
namespace cuda {
namespace detail {

// Throws CudaError "<what>: no CUDA device (<reason>)" unless a device answers.
void require_device(const std::string& what);

// The only place that allocates device memory: cudaMalloc of `bytes`, counted for
// device_allocation_count(). Throws CudaError naming `what` (and require_device's reason).
void* device_allocate(std::size_t bytes, const std::string& what);
void device_free(void* pointer) noexcept;

// `count` elements of T in device memory, zero-filled; owned (freed by the destructor), movable.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(std::size_t count, const std::string& what) : count_(count) {
    data_ = static_cast<T*>(device_allocate(std::max<std::size_t>(count, 1) * sizeof(T), what));
    check_cuda(cudaMemset(data_, 0, count * sizeof(T)), [&] { return "cudaMemset of " + what; });
  }
  ~DeviceArray() { device_free(data_); }
  DeviceArray(DeviceArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* data() const { return data_; }
  std::size_t size() const { return count_; }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// Page-locked host slots for one small host→device copy per step (DeviceNetwork's batch
// indices). From pageable memory cudaMemcpyAsync may wait for the stream while the driver stages
// the copy (CUDA runtime API, "API synchronization behavior"), which would keep the host from
// preparing step i+1 while the device runs step i; from page-locked memory the copy is only
// queued. A slot is written again only once the copy that last read it has completed (an event
// recorded behind that copy), so the host runs at most `slots` copies ahead of the device.
class PinnedStaging {
 public:
  PinnedStaging() = default;
  PinnedStaging(std::size_t slot_bytes, int slots, const std::string& what);
  ~PinnedStaging() { release(); }
  PinnedStaging(PinnedStaging&& other) noexcept { swap(other); }
  PinnedStaging& operator=(PinnedStaging&& other) noexcept {
    swap(other);
    return *this;
  }
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // The slot (slot_bytes) that the next copy_to_device reads; waits while the device has not
  // yet copied what that slot held `slots` copies ago.
  void* slot();
  // Queues the copy of the slot's first `bytes` to `device` on `stream`, and moves to the next slot.
  void copy_to_device(void* device, std::size_t bytes, cudaStream_t stream, const char* what);

 private:
  void swap(PinnedStaging& other) noexcept;
  void release() noexcept;

  unsigned char* memory_ = nullptr;  // slots × slot_bytes, cudaHostAlloc
  std::size_t slot_bytes_ = 0;
  std::vector<cudaEvent_t> copied_;  // per slot: recorded behind the copy that last read it
  std::size_t next_ = 0;
};

// A stream with its own cuBLAS handle and cuBLAS workspace (ours, allocated once, so that cuBLAS
// allocates nothing while a CUDA graph is being captured). TF32 only when asked.
class Context {
 public:
  // own_stream: a new stream (needed for graph capture); otherwise the legacy default stream.
  Context(bool own_stream, bool tf32);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  // Waits for everything queued on the stream.
  void synchronize(const char* what) const;

 private:
  void release() noexcept;

  cudaStream_t stream_ = nullptr;
  bool own_stream_;
  cublasHandle_t cublas_ = nullptr;
  void* workspace_ = nullptr;
};

// The context of DeviceMatrix operations and the host-pointer GEMM backend: the legacy default
// stream, no TF32; one per thread, created on first use.
Context& default_context();

// The row-major product C[m×n] = alpha·op(A)·op(B) + beta·C (lda/ldb/ldc: row strides) as one
// call of a column-major GEMM with the BLAS argument order (transa, transb, m, n, k, alpha, A,
// lda, B, ldb, beta, C, ldc), as cuBLAS takes it. A row-major matrix is its transpose in
// column-major order with the row stride as leading dimension, so the product is
// Cᵀ = op(B)ᵀ·op(A)ᵀ there: the operands and m, n swap, the ops and the strides stay.
// gemm_rows passes cuBLAS; test_cuda_nodevice.cpp passes a plain column-major product.
template <typename Scalar, typename ColumnMajorGemm>
void gemm_rows_as_column_major(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                               const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc,
                               const ColumnMajorGemm& column_major_gemm) {
  column_major_gemm(op_b, op_a, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
}

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C on ctx's stream by cuBLAS
// (gemm_rows_as_column_major); lda/ldb/ldc are row strides.
template <typename Scalar>
void gemm_rows(const Context& ctx, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
               Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc);

}  // namespace detail
}  // namespace cuda
}  // namespace eigennet

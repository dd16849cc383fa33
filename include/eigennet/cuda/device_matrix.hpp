// A matrix in GPU memory (builds with CUDA only: EIGENNET_HAVE_CUDA is defined there).
//
// Row-major like eigennet::Matrix, so a block of rows is contiguous and a host matrix copies
// over as one block. It owns its memory (freed by the destructor) and can be moved but not
// copied: device copies are explicit (upload, download), never accidental.
#pragma once

#include "eigennet/cuda/device.hpp"
#include "eigennet/gemm/gemm.hpp"
#include "eigennet/types.hpp"

namespace eigennet {
namespace cuda {

template <typename Scalar>
class DeviceMatrix {
 public:
  // 0×0, holds no memory (needs no device).
  DeviceMatrix() = default;
  // rows×cols, zero-filled. Throws CudaError where no device answers or memory runs out.
  DeviceMatrix(Index rows, Index cols);
  // A device copy of a host matrix.
  explicit DeviceMatrix(ConstMatrixRef<Scalar> host);
  ~DeviceMatrix();

  DeviceMatrix(DeviceMatrix&& other) noexcept;
  DeviceMatrix& operator=(DeviceMatrix&& other) noexcept;
  DeviceMatrix(const DeviceMatrix&) = delete;
  DeviceMatrix& operator=(const DeviceMatrix&) = delete;

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  Index size() const { return rows_ * cols_; }
  Scalar* data() { return data_; }
  const Scalar* data() const { return data_; }

  // Host → device and device → host; the shapes must match (std::invalid_argument naming both).
  // Both wait for the device's work queued before them (they are synchronous copies).
  void upload(ConstMatrixRef<Scalar> host);
  void download(MatrixRef<Scalar> host) const;
  Matrix<Scalar> download() const;

 private:
  Index rows_ = 0, cols_ = 0;
  Scalar* data_ = nullptr;
};

// C = alpha · op(A) · op(B) + beta · C on the device by cuBLAS, as eigennet::gemm() on the host:
// op(A) is m×k, op(B) is k×n, C is m×n (std::invalid_argument naming the shapes otherwise).
// Queued on the default stream. TF32 never (see DeviceNetwork for the option).
template <typename Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, const DeviceMatrix<Scalar>& a, const DeviceMatrix<Scalar>& b,
          Scalar beta, DeviceMatrix<Scalar>& c);

extern template class DeviceMatrix<float>;
extern template class DeviceMatrix<double>;

}  // namespace cuda
}  // namespace eigennet

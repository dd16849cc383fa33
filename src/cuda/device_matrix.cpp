#include "eigennet/cuda/device_matrix.hpp"

#include <utility>

#include "runtime.hpp"

namespace eigennet {
namespace cuda {

namespace {
template <typename Scalar>
std::string matrix_name(Index rows, Index cols) {
  return std::string("DeviceMatrix<") + (sizeof(Scalar) == 4 ? "float" : "double") + "> " + shape_string(rows, cols);
}
}  // namespace

template <typename Scalar>
DeviceMatrix<Scalar>::DeviceMatrix(Index rows, Index cols) : rows_(rows), cols_(cols) {
  if (rows < 0 || cols < 0) throw std::invalid_argument(matrix_name<Scalar>(rows, cols) + ": negative size");
  const std::size_t bytes = std::size_t(size()) * sizeof(Scalar);
  // A 0-row or 0-column matrix still asks for a device, so the error comes here, not later.
  data_ = static_cast<Scalar*>(detail::device_allocate(bytes > 0 ? bytes : sizeof(Scalar), matrix_name<Scalar>(rows, cols)));
  try {
    detail::check_cuda(cudaMemset(data_, 0, bytes), [&] { return "cudaMemset of " + matrix_name<Scalar>(rows, cols); });
  } catch (...) {
    detail::device_free(data_);  // a constructor that throws runs no destructor
    throw;
  }
}

template <typename Scalar>
DeviceMatrix<Scalar>::DeviceMatrix(ConstMatrixRef<Scalar> host) : DeviceMatrix(host.rows(), host.cols()) {
  upload(host);
}

template <typename Scalar>
DeviceMatrix<Scalar>::~DeviceMatrix() {
  detail::device_free(data_);
}

template <typename Scalar>
DeviceMatrix<Scalar>::DeviceMatrix(DeviceMatrix&& other) noexcept
    : rows_(std::exchange(other.rows_, 0)), cols_(std::exchange(other.cols_, 0)), data_(std::exchange(other.data_, nullptr)) {}

template <typename Scalar>
DeviceMatrix<Scalar>& DeviceMatrix<Scalar>::operator=(DeviceMatrix&& other) noexcept {
  if (this != &other) {
    detail::device_free(data_);
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

// A Ref of a block of rows may have a row stride larger than its width: copy it as a 2-D block.
template <typename Scalar>
void DeviceMatrix<Scalar>::upload(ConstMatrixRef<Scalar> host) {
  require_shape(host, rows_, cols_, [&] { return matrix_name<Scalar>(rows_, cols_) + ": upload of a host matrix"; });
  if (size() == 0) return;
  detail::check_cuda(cudaMemcpy2D(data_, cols_ * sizeof(Scalar), host.data(), host.outerStride() * sizeof(Scalar),
                                  cols_ * sizeof(Scalar), rows_, cudaMemcpyHostToDevice),
                     [&] { return "cudaMemcpy2D host → " + matrix_name<Scalar>(rows_, cols_); });
}

template <typename Scalar>
void DeviceMatrix<Scalar>::download(MatrixRef<Scalar> host) const {
  require_shape(host, rows_, cols_, [&] { return matrix_name<Scalar>(rows_, cols_) + ": download to a host matrix"; });
  if (size() == 0) return;
  detail::check_cuda(cudaMemcpy2D(host.data(), host.outerStride() * sizeof(Scalar), data_, cols_ * sizeof(Scalar),
                                  cols_ * sizeof(Scalar), rows_, cudaMemcpyDeviceToHost),
                     [&] { return "cudaMemcpy2D " + matrix_name<Scalar>(rows_, cols_) + " → host"; });
}

template <typename Scalar>
Matrix<Scalar> DeviceMatrix<Scalar>::download() const {
  Matrix<Scalar> host(rows_, cols_);
  download(host);
  return host;
}

template <typename Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, const DeviceMatrix<Scalar>& a, const DeviceMatrix<Scalar>& b, Scalar beta,
          DeviceMatrix<Scalar>& c) {
  const Index m = op_a == Op::None ? a.rows() : a.cols();
  const Index k = op_a == Op::None ? a.cols() : a.rows();
  const Index kb = op_b == Op::None ? b.rows() : b.cols();
  const Index n = op_b == Op::None ? b.cols() : b.rows();
  if (k != kb || c.rows() != m || c.cols() != n)
    throw std::invalid_argument(std::string("cuda::gemm: op(A) is ") + shape_string(m, k) + ", op(B) is " +
                                shape_string(kb, n) + ", C is " + shape_string(c.rows(), c.cols()) + " (expected " + shape_string(m, n) + ")");
  detail::gemm_rows<Scalar>(detail::default_context(), op_a, op_b, m, n, k, alpha, a.data(), a.cols(), b.data(),
                            b.cols(), beta, c.data(), c.cols());
}

template class DeviceMatrix<float>;
template class DeviceMatrix<double>;
template void gemm<float>(Op, Op, float, const DeviceMatrix<float>&, const DeviceMatrix<float>&, float,
                          DeviceMatrix<float>&);
template void gemm<double>(Op, Op, double, const DeviceMatrix<double>&, const DeviceMatrix<double>&, double,
                           DeviceMatrix<double>&);

}  // namespace cuda
}  // namespace eigennet

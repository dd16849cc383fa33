#include "eigennet/layers/dense.hpp"

#include "eigennet/gemm/gemm.hpp"

namespace eigennet {

template <typename Scalar>
Dense<Scalar>::Dense(Index input_size, Index output_size, bool bias)
    : input_size_(input_size), output_size_(output_size), has_bias_(bias) {
  if (input_size <= 0 || output_size <= 0)
    throw std::invalid_argument("dense: sizes must be positive, got " + shape_string(input_size, output_size));
  weights_ = Matrix<Scalar>::Zero(input_size + (bias ? 1 : 0), output_size);
  weights_gradient_ = Matrix<Scalar>::Zero(weights_.rows(), weights_.cols());
}

template <typename Scalar>
std::string Dense<Scalar>::describe() const {
  return "dense " + std::to_string(input_size_) + "→" + std::to_string(output_size_) +
         (has_bias_ ? " (+bias)" : " (no bias)");
}

// x: N×D_in, y: N×D_out.   Y = X·W[0:D_in] + 1·W[D_in]
template <typename Scalar>
void Dense<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  if (has_bias_) {
    y.rowwise() = weights_.row(input_size_);  // the "1" column of [X, 1] times the bias row
    gemm<Scalar>(Op::None, Op::None, 1, x, weights_.topRows(input_size_), 1, y);
  } else {
    gemm<Scalar>(Op::None, Op::None, 1, x, weights_, 0, y);
  }
}

// x: N×D_in, dy: N×D_out → dW: (D_in+1)×D_out, dx: N×D_in.
// From Y = [X, 1]·W:  dW = [X, 1]ᵀ·dY, whose top D_in rows are Xᵀ·dY and whose last row is
// 1ᵀ·dY (the column sums of dY);  dX = dY·W[0:D_in]ᵀ (the bias row does not touch X).
template <typename Scalar>
void Dense<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                             MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  gemm<Scalar>(Op::Transpose, Op::None, 1, x, dy, 0, weights_gradient_.topRows(input_size_));
  if (has_bias_) weights_gradient_.row(input_size_) = dy.colwise().sum();
  if (compute_input_gradient) gemm<Scalar>(Op::None, Op::Transpose, 1, dy, weights_.topRows(input_size_), 0, dx);
}

// x: N×D_in, dy: N×D_out → W updated in place, dx: N×D_in.
// backward followed by W ← W − ε·dW, without storing dW: dX = dY·W[0:D_in]ᵀ first (from W before
// the update), then W[0:D_in] ← W[0:D_in] − ε·Xᵀ·dY as one product (α = −ε, β = 1, so W is read
// and written once instead of dW written, read, and W read and written), and the bias row
// W[D_in] ← W[D_in] − ε·1ᵀ·dY.
template <typename Scalar>
void Dense<Scalar>::backward_sgd(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                                 MatrixRef<Scalar> dx, bool compute_input_gradient, Scalar learning_rate) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (compute_input_gradient) gemm<Scalar>(Op::None, Op::Transpose, 1, dy, weights_.topRows(input_size_), 0, dx);
  gemm<Scalar>(Op::Transpose, Op::None, -learning_rate, x, dy, 1, weights_.topRows(input_size_));
  if (has_bias_) weights_.row(input_size_) -= learning_rate * dy.colwise().sum();
}

template class Dense<float>;
template class Dense<double>;

}  // namespace eigennet

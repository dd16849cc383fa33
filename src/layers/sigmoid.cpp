#include "eigennet/layers/sigmoid.hpp"

namespace eigennet {

// x, y: N×D. For very negative x, exp(-x) overflows to +inf and y becomes 0: no NaN.
template <typename Scalar>
void Sigmoid<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  y = (Scalar(1) + (-x.array()).exp()).inverse().matrix();
}

// dy → dx, N×D.  σ'(x) = σ(x)(1 − σ(x)) = y(1 − y): uses the forward output only.
template <typename Scalar>
void Sigmoid<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                               MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (compute_input_gradient) dx = (dy.array() * y.array() * (Scalar(1) - y.array())).matrix();
}

template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace eigennet

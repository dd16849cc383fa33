#include "eigennet/layers/tanh.hpp"

namespace eigennet {

// x, y: N×D.
template <typename Scalar>
void Tanh<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  y = x.array().tanh().matrix();
}

// dy → dx, N×D.  tanh'(x) = 1 − tanh²(x) = 1 − y².
template <typename Scalar>
void Tanh<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                            MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (compute_input_gradient) dx = (dy.array() * (Scalar(1) - y.array().square())).matrix();
}

template class Tanh<float>;
template class Tanh<double>;

}  // namespace eigennet

#include "eigennet/layers/relu.hpp"

namespace eigennet {

// x, y: N×D.
template <typename Scalar>
void Relu<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  y = x.cwiseMax(Scalar(0));
}

// dy → dx, N×D.  dy/dx = 1 where x > 0, else 0: the gradient passes through a mask.
template <typename Scalar>
void Relu<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                            MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (compute_input_gradient) dx = (x.array() > Scalar(0)).select(dy, Scalar(0));
}

template class Relu<float>;
template class Relu<double>;

}  // namespace eigennet

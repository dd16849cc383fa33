#include "eigennet/layers/softmax.hpp"

#include "layers/softmax_math.hpp"

namespace eigennet {

// x, y: N×K. Each row is shifted by its max before exp, so no overflow.
template <typename Scalar>
void Softmax<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  softmax_rows<Scalar>(x, y);
}

// dy → dx, N×K, row by row (Jacobian-vector product, the K×K Jacobian is never formed).
// ∂y_j/∂x_i = y_j(δ_ij − y_i)  ⇒  dx_i = Σ_j dy_j y_j(δ_ij − y_i) = y_i (dy_i − Σ_j dy_j y_j).
template <typename Scalar>
void Softmax<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                               MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (!compute_input_gradient) return;
  for (Index n = 0; n < y.rows(); ++n) {
    const Scalar dot = dy.row(n).dot(y.row(n));
    dx.row(n) = (y.row(n).array() * (dy.row(n).array() - dot)).matrix();
  }
}

template class Softmax<float>;
template class Softmax<double>;

}  // namespace eigennet

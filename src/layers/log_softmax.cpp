#include "eigennet/layers/log_softmax.hpp"

#include "layers/softmax_math.hpp"

namespace eigennet {

// x, y: N×K.  y = x − logsumexp(x), with the row max taken out before exp.
template <typename Scalar>
void LogSoftmax<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  for (Index n = 0; n < x.rows(); ++n) y.row(n) = x.row(n).array() - log_sum_exp<Scalar>(x.row(n));
}

// dy → dx, N×K.  ∂y_j/∂x_i = δ_ij − softmax_i  ⇒  dx_i = dy_i − exp(y_i) Σ_j dy_j.
template <typename Scalar>
void LogSoftmax<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                                  MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (!compute_input_gradient) return;
  for (Index n = 0; n < y.rows(); ++n) dx.row(n) = dy.row(n).array() - y.row(n).array().exp() * dy.row(n).sum();
}

template class LogSoftmax<float>;
template class LogSoftmax<double>;

}  // namespace eigennet

#include <cmath>

#include "eigennet/model/loss.hpp"
#include "layers/softmax_math.hpp"

namespace eigennet {

// ---- shared checks -------------------------------------------------------------------------

template <typename Scalar>
void Loss<Scalar>::check_target(const ConstMatrixRef<Scalar>& output, const ConstMatrixRef<Scalar>& target) const {
  require_shape(target, output.rows(), output.cols(),
                [&] { return name() + ": target (output is " + shape_of(output) + ")"; });
  if (output.rows() == 0) throw std::invalid_argument(name() + ": empty batch (0 rows)");
}

template <typename Scalar>
void Loss<Scalar>::check_labels(const ConstMatrixRef<Scalar>& output, const ConstLabelsRef& labels) const {
  require_labels(labels.size(), output.rows(), [&] { return name(); });
  if (output.rows() == 0) throw std::invalid_argument(name() + ": empty batch (0 rows)");
  for (Index n = 0; n < labels.size(); ++n)
    if (labels(n) < 0 || labels(n) >= output.cols())
      throw std::invalid_argument(name() + ": label " + std::to_string(labels(n)) + " of sample " +
                                  std::to_string(n) + " is outside [0, " + std::to_string(output.cols()) + ")");
}

template <typename Scalar>
void Loss<Scalar>::check_gradient(const ConstMatrixRef<Scalar>& output, const MatrixRef<Scalar>& d_output) const {
  require_shape(d_output, output.rows(), output.cols(), [&] { return name() + ": gradient buffer"; });
}

template <typename Scalar>
Scalar Loss<Scalar>::value_labels(ConstMatrixRef<Scalar>, ConstLabelsRef) const {
  throw std::invalid_argument(name() + " needs a target matrix, not integer labels");
}
template <typename Scalar>
void Loss<Scalar>::gradient_labels(ConstMatrixRef<Scalar>, ConstLabelsRef, MatrixRef<Scalar>) const {
  throw std::invalid_argument(name() + " needs a target matrix, not integer labels");
}

// ---- softmax + cross-entropy on logits -----------------------------------------------------

namespace {

// One row's term of L·N, given lse = log Σ_k exp(z_k) (so log p_k = z_k − lse): Σ_k y_k (lse − z_k),
// or with log_epsilon > 0 the notebook's −Σ_k y_k log(p_k + eps). Against a label: y = e_label.
template <typename Scalar, typename Row>
Scalar softmax_ce_row(const Row& y, const Row& z, Scalar lse, double log_epsilon) {
  if (log_epsilon > 0) return -(y.array() * ((z.array() - lse).exp() + Scalar(log_epsilon)).log()).sum();
  return (y.array() * (lse - z.array())).sum();
}
template <typename Scalar>
Scalar softmax_ce_label(Scalar z_label, Scalar lse, double log_epsilon) {
  const Scalar log_p = z_label - lse;
  return log_epsilon > 0 ? -std::log(std::exp(log_p) + Scalar(log_epsilon)) : -log_p;
}

}  // namespace

// z, y: N×K.  L_n = Σ_k y_nk (lse(z_n) − z_nk)  (= −Σ y log p without forming p).
template <typename Scalar>
Scalar SoftmaxCrossEntropy<Scalar>::value(ConstMatrixRef<Scalar> z, ConstMatrixRef<Scalar> y) const {
  this->check_target(z, y);
  Scalar total = 0;
  for (Index n = 0; n < z.rows(); ++n)
    total += softmax_ce_row(y.row(n), z.row(n), log_sum_exp<Scalar>(z.row(n)), log_epsilon_);
  return total / Scalar(z.rows());
}

// z, y → dz: N×K.  ∂L/∂z = (softmax(z) − Y)/N.
template <typename Scalar>
void SoftmaxCrossEntropy<Scalar>::gradient(ConstMatrixRef<Scalar> z, ConstMatrixRef<Scalar> y,
                                           MatrixRef<Scalar> dz) const {
  this->check_target(z, y);
  this->check_gradient(z, dz);
  softmax_rows<Scalar>(z, dz);
  dz = (dz - y) / Scalar(z.rows());
}

template <typename Scalar>
Scalar SoftmaxCrossEntropy<Scalar>::value_labels(ConstMatrixRef<Scalar> z, ConstLabelsRef labels) const {
  this->check_labels(z, labels);
  Scalar total = 0;
  for (Index n = 0; n < z.rows(); ++n)
    total += softmax_ce_label(z(n, labels(n)), log_sum_exp<Scalar>(z.row(n)), log_epsilon_);
  return total / Scalar(z.rows());
}

// z → dz: N×K.  ∂L/∂z = (softmax(z) − onehot(labels))/N: the fused call's gradient, its value
// (a log per row) dropped. dz may be z.
template <typename Scalar>
void SoftmaxCrossEntropy<Scalar>::gradient_labels(ConstMatrixRef<Scalar> z, ConstLabelsRef labels,
                                                  MatrixRef<Scalar> dz) const {
  value_and_gradient_labels(z, labels, dz);
}

// Both at once, each row's exponentials computed once: softmax_row writes softmax(z) into dz's
// row and returns lse for the value. The same value and gradient as value() / value_labels()
// and gradient(), up to the order of the sum Σ exp (stored row against expression). With a
// target, dz must not overlap z (the value reads z after dz's row is written); with labels it
// may (z's label entry is read first).
template <typename Scalar>
Scalar SoftmaxCrossEntropy<Scalar>::value_and_gradient(ConstMatrixRef<Scalar> z, ConstMatrixRef<Scalar> y,
                                                       MatrixRef<Scalar> dz) const {
  this->check_target(z, y);
  this->check_gradient(z, dz);
  Scalar total = 0;
  for (Index n = 0; n < z.rows(); ++n)
    total += softmax_ce_row(y.row(n), z.row(n), softmax_row<Scalar>(z.row(n), dz.row(n)), log_epsilon_);
  dz = (dz - y) / Scalar(z.rows());
  return total / Scalar(z.rows());
}

template <typename Scalar>
Scalar SoftmaxCrossEntropy<Scalar>::value_and_gradient_labels(ConstMatrixRef<Scalar> z, ConstLabelsRef labels,
                                                              MatrixRef<Scalar> dz) const {
  this->check_labels(z, labels);
  this->check_gradient(z, dz);
  Scalar total = 0;
  for (Index n = 0; n < z.rows(); ++n) {
    const Scalar z_label = z(n, labels(n));
    total += softmax_ce_label(z_label, softmax_row<Scalar>(z.row(n), dz.row(n)), log_epsilon_);
    dz(n, labels(n)) -= Scalar(1);
  }
  dz /= Scalar(z.rows());
  return total / Scalar(z.rows());
}

// ---- cross-entropy on probabilities --------------------------------------------------------

// p, y: N×K.  L = −(1/N) Σ y log(p + eps).
template <typename Scalar>
Scalar CrossEntropy<Scalar>::value(ConstMatrixRef<Scalar> p, ConstMatrixRef<Scalar> y) const {
  this->check_target(p, y);
  return -(y.array() * (p.array() + Scalar(epsilon_)).log()).sum() / Scalar(p.rows());
}

// ∂L/∂p = −Y / (P + eps) / N.
template <typename Scalar>
void CrossEntropy<Scalar>::gradient(ConstMatrixRef<Scalar> p, ConstMatrixRef<Scalar> y, MatrixRef<Scalar> dp) const {
  this->check_target(p, y);
  this->check_gradient(p, dp);
  dp = (-y.array() / (p.array() + Scalar(epsilon_)) / Scalar(p.rows())).matrix();
}

template <typename Scalar>
Scalar CrossEntropy<Scalar>::value_labels(ConstMatrixRef<Scalar> p, ConstLabelsRef labels) const {
  this->check_labels(p, labels);
  Scalar total = 0;
  for (Index n = 0; n < p.rows(); ++n) total -= std::log(p(n, labels(n)) + Scalar(epsilon_));
  return total / Scalar(p.rows());
}

template <typename Scalar>
void CrossEntropy<Scalar>::gradient_labels(ConstMatrixRef<Scalar> p, ConstLabelsRef labels,
                                           MatrixRef<Scalar> dp) const {
  this->check_labels(p, labels);
  this->check_gradient(p, dp);
  dp.setZero();
  for (Index n = 0; n < p.rows(); ++n)
    dp(n, labels(n)) = Scalar(-1) / (p(n, labels(n)) + Scalar(epsilon_)) / Scalar(p.rows());
}

// ---- negative log-likelihood of log-probabilities ------------------------------------------

// q, y: N×K.  L = −(1/N) Σ y q.
template <typename Scalar>
Scalar NegativeLogLikelihood<Scalar>::value(ConstMatrixRef<Scalar> q, ConstMatrixRef<Scalar> y) const {
  this->check_target(q, y);
  return -(y.array() * q.array()).sum() / Scalar(q.rows());
}

// ∂L/∂q = −Y/N.
template <typename Scalar>
void NegativeLogLikelihood<Scalar>::gradient(ConstMatrixRef<Scalar> q, ConstMatrixRef<Scalar> y,
                                             MatrixRef<Scalar> dq) const {
  this->check_target(q, y);
  this->check_gradient(q, dq);
  dq = -y / Scalar(q.rows());
}

template <typename Scalar>
Scalar NegativeLogLikelihood<Scalar>::value_labels(ConstMatrixRef<Scalar> q, ConstLabelsRef labels) const {
  this->check_labels(q, labels);
  Scalar total = 0;
  for (Index n = 0; n < q.rows(); ++n) total -= q(n, labels(n));
  return total / Scalar(q.rows());
}

template <typename Scalar>
void NegativeLogLikelihood<Scalar>::gradient_labels(ConstMatrixRef<Scalar> q, ConstLabelsRef labels,
                                                    MatrixRef<Scalar> dq) const {
  this->check_labels(q, labels);
  this->check_gradient(q, dq);
  dq.setZero();
  for (Index n = 0; n < q.rows(); ++n) dq(n, labels(n)) = Scalar(-1) / Scalar(q.rows());
}

// ---- squared errors ------------------------------------------------------------------------

// o, t: N×K.  L = Σ (o − t)².
template <typename Scalar>
Scalar SquaredError<Scalar>::value(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t) const {
  this->check_target(o, t);
  return (o - t).squaredNorm();
}

// ∂L/∂o = 2(o − t).
template <typename Scalar>
void SquaredError<Scalar>::gradient(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t, MatrixRef<Scalar> d) const {
  this->check_target(o, t);
  this->check_gradient(o, d);
  d = Scalar(2) * (o - t);
}

// o, t: N×K.  L = (1/(N K)) Σ (o − t)².
template <typename Scalar>
Scalar MeanSquaredError<Scalar>::value(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t) const {
  this->check_target(o, t);
  return (o - t).squaredNorm() / Scalar(o.size());
}

// ∂L/∂o = 2(o − t)/(N K).
template <typename Scalar>
void MeanSquaredError<Scalar>::gradient(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t,
                                        MatrixRef<Scalar> d) const {
  this->check_target(o, t);
  this->check_gradient(o, d);
  d = (Scalar(2) / Scalar(o.size())) * (o - t);
}

template class Loss<float>;
template class Loss<double>;
template class SoftmaxCrossEntropy<float>;
template class SoftmaxCrossEntropy<double>;
template class CrossEntropy<float>;
template class CrossEntropy<double>;
template class NegativeLogLikelihood<float>;
template class NegativeLogLikelihood<double>;
template class SquaredError<float>;
template class SquaredError<double>;
template class MeanSquaredError<float>;
template class MeanSquaredError<double>;

}  // namespace eigennet

// Losses: a scalar of the network output (N×K) and a target, and its gradient dL/d(output).
//
// Targets are either a matrix of the output's shape (one-hot rows for classification, values
// for regression) or integer class labels (N). Every loss that averages divides by N here and
// nowhere else: layers and optimizers never rescale gradients.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "eigennet/types.hpp"

namespace eigennet {

template <typename Scalar>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // True when L is a mean over the N rows of the batch (so the loss of a batch split in parts
  // is Σ (n_part/N)·L_part); false when it is a sum over them (squared error).
  virtual bool averages_over_batch() const { return true; }
  // The same loss in double precision (the gradient checker checks float networks through
  // it). Losses that cannot be promoted keep this default, which throws; the checker then
  // falls back to float central differences.
  virtual std::unique_ptr<Loss<double>> to_double() const {
    throw std::logic_error(name() + ": this loss has no to_double()");
  }

  // output, target: N×K → L.
  virtual Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const = 0;
  // output, target: N×K → d_output: N×K (overwritten).
  virtual void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                        MatrixRef<Scalar> d_output) const = 0;

  // The same with integer labels (N); every label must be in [0, K). Losses that need real
  // targets (squared errors) throw std::invalid_argument.
  virtual Scalar value_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels) const;
  virtual void gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                               MatrixRef<Scalar> d_output) const;

  // value and gradient in one call, as a training step needs them (returns the value). These
  // defaults call the two above; a loss whose value and gradient share work overrides them
  // (softmax-cross-entropy: one pass of exponentials instead of two). d_output must not overlap
  // output.
  virtual Scalar value_and_gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                                    MatrixRef<Scalar> d_output) const {
    const Scalar v = value(output, target);
    gradient(output, target, d_output);
    return v;
  }
  virtual Scalar value_and_gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                                           MatrixRef<Scalar> d_output) const {
    const Scalar v = value_labels(output, labels);
    gradient_labels(output, labels, d_output);
    return v;
  }

 protected:
  void check_target(const ConstMatrixRef<Scalar>& output, const ConstMatrixRef<Scalar>& target) const;
  void check_labels(const ConstMatrixRef<Scalar>& output, const ConstLabelsRef& labels) const;
  void check_gradient(const ConstMatrixRef<Scalar>& output, const MatrixRef<Scalar>& d_output) const;
};

// Softmax + cross-entropy on logits z, fused (the notebook's gradient):
//   L = −(1/N) Σ_n Σ_k y_nk log p_nk,  p = softmax(z)   (log p by log-sum-exp)
//   dL/dz = (P − Y)/N.
// With log_epsilon > 0 the reported value is the notebook's −(1/N) Σ y log(p + eps)
// (eps = 1e-7 there); the gradient stays (P − Y)/N, as in the notebook.
template <typename Scalar>
class SoftmaxCrossEntropy final : public Loss<Scalar> {
 public:
  explicit SoftmaxCrossEntropy(double log_epsilon = 0) : log_epsilon_(log_epsilon) {}
  std::string name() const override { return "softmax_cross_entropy"; }
  double log_epsilon() const { return log_epsilon_; }
  std::unique_ptr<Loss<double>> to_double() const override {
    return std::make_unique<SoftmaxCrossEntropy<double>>(log_epsilon_);
  }
  Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const override;
  void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                MatrixRef<Scalar> d_output) const override;
  Scalar value_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels) const override;
  void gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                       MatrixRef<Scalar> d_output) const override;
  Scalar value_and_gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                            MatrixRef<Scalar> d_output) const override;
  Scalar value_and_gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                                   MatrixRef<Scalar> d_output) const override;

 private:
  double log_epsilon_;
};

// Cross-entropy on probabilities p (e.g. a Softmax layer's output), with eps inside the log:
//   L = −(1/N) Σ y log(p + eps),  dL/dp = −Y / (P + eps) / N.   (notebook: eps = 1e-7)
template <typename Scalar>
class CrossEntropy final : public Loss<Scalar> {
 public:
  explicit CrossEntropy(double epsilon = 1e-7) : epsilon_(epsilon) {}
  std::string name() const override { return "cross_entropy"; }
  std::unique_ptr<Loss<double>> to_double() const override { return std::make_unique<CrossEntropy<double>>(epsilon_); }
  Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const override;
  void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                MatrixRef<Scalar> d_output) const override;
  Scalar value_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels) const override;
  void gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                       MatrixRef<Scalar> d_output) const override;

 private:
  double epsilon_;
};

// Negative log-likelihood of log-probabilities q (e.g. a LogSoftmax layer's output), as
// PyTorch's NLLLoss:  L = −(1/N) Σ_n q_{n, label_n},  dL/dq = −Y/N.
template <typename Scalar>
class NegativeLogLikelihood final : public Loss<Scalar> {
 public:
  std::string name() const override { return "negative_log_likelihood"; }
  std::unique_ptr<Loss<double>> to_double() const override {
    return std::make_unique<NegativeLogLikelihood<double>>();
  }
  Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const override;
  void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                MatrixRef<Scalar> d_output) const override;
  Scalar value_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels) const override;
  void gradient_labels(ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                       MatrixRef<Scalar> d_output) const override;
};

// Squared error, summed over every element (the cosine exercise's cost):
//   L = Σ (o − t)²,  dL/do = 2(o − t).
template <typename Scalar>
class SquaredError final : public Loss<Scalar> {
 public:
  std::string name() const override { return "squared_error"; }
  std::unique_ptr<Loss<double>> to_double() const override { return std::make_unique<SquaredError<double>>(); }
  bool averages_over_batch() const override { return false; }
  Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const override;
  void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                MatrixRef<Scalar> d_output) const override;
};

// Mean squared error over all N·K elements (PyTorch's MSELoss):
//   L = (1/(N K)) Σ (o − t)²,  dL/do = 2(o − t)/(N K).
template <typename Scalar>
class MeanSquaredError final : public Loss<Scalar> {
 public:
  std::string name() const override { return "mean_squared_error"; }
  std::unique_ptr<Loss<double>> to_double() const override { return std::make_unique<MeanSquaredError<double>>(); }
  Scalar value(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target) const override;
  void gradient(ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                MatrixRef<Scalar> d_output) const override;
};

extern template class Loss<float>;
extern template class Loss<double>;
extern template class SoftmaxCrossEntropy<float>;
extern template class SoftmaxCrossEntropy<double>;
extern template class CrossEntropy<float>;
extern template class CrossEntropy<double>;
extern template class NegativeLogLikelihood<float>;
extern template class NegativeLogLikelihood<double>;
extern template class SquaredError<float>;
extern template class SquaredError<double>;
extern template class MeanSquaredError<float>;
extern template class MeanSquaredError<double>;

}  // namespace eigennet

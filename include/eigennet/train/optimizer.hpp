// Optimizers walk a parameter list (Network::parameters()) and update each value from its
// gradient. Their state (velocities, moments) is indexed by position in that list and
// allocated once, when the optimizer is built, so step() allocates nothing.
//
// An optimizer owns its learning rate: it is set when the optimizer is built and changes only
// through set_learning_rate (a training loop calls it only when its options ask, see
// train.hpp) or through a schedule such as ExponentialDecay below.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "eigennet/model/parameter.hpp"

namespace eigennet {

template <typename Scalar>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update using the gradients currently stored in the parameters.
  virtual void step() = 0;
  // ε in the update rules below.
  double learning_rate() const { return learning_rate_; }
  // Throws std::invalid_argument naming the value unless lr is positive and finite.
  void set_learning_rate(double lr);
  // ε when step() is plain SGD, W ← W − ε·dW, with no state of its own, so that a training step
  // may fuse the update into the backward (Network::forward_backward_sgd) instead of calling
  // step(); empty for every other optimizer.
  virtual std::optional<double> plain_sgd_rate() const { return std::nullopt; }

 protected:
  explicit Optimizer(double learning_rate) { set_learning_rate(learning_rate); }

 private:
  double learning_rate_ = 0;
};

// Plain SGD, as in the notebook:  W ← W − ε·dW.
template <typename Scalar>
class Sgd final : public Optimizer<Scalar> {
 public:
  Sgd(ParameterList<Scalar> parameters, double learning_rate);
  void step() override;
  std::optional<double> plain_sgd_rate() const override { return this->learning_rate(); }

 private:
  ParameterList<Scalar> parameters_;
};

// SGD with momentum, PyTorch's form:  v ← μ·v + dW;  W ← W − ε·v
// (Nesterov: W ← W − ε·(dW + μ·v)). v starts at zero.
template <typename Scalar>
class Momentum final : public Optimizer<Scalar> {
 public:
  Momentum(ParameterList<Scalar> parameters, double learning_rate, double momentum = 0.9, bool nesterov = false);
  void step() override;
  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 private:
  ParameterList<Scalar> parameters_;
  double momentum_;
  bool nesterov_;
  std::vector<Matrix<Scalar>> velocity_;
};

// Adam (Kingma & Ba), PyTorch's defaults: m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
// W ← W − ε·m̂ / (√v̂ + eps) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
template <typename Scalar>
class Adam final : public Optimizer<Scalar> {
 public:
  Adam(ParameterList<Scalar> parameters, double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double epsilon = 1e-8);
  void step() override;

 private:
  ParameterList<Scalar> parameters_;
  double beta1_, beta2_, epsilon_;
  long long steps_ = 0;
  std::vector<Matrix<Scalar>> first_moment_, second_moment_;
};

// A learning-rate schedule around another optimizer: the rate decays exponentially with the
// steps taken,
//   ε_t = ε · γ^(t / steps_per_decay)    t = 0, 1, 2, … (the steps taken before this one)
// so it falls by γ every steps_per_decay steps, smoothly (PyTorch's ExponentialLR stepped once
// every steps_per_decay steps, without its jumps). ε is this optimizer's learning rate (the
// inner optimizer's when built); before each step the inner optimizer's rate is set to ε_t.
template <typename Scalar>
class ExponentialDecay final : public Optimizer<Scalar> {
 public:
  // Throws std::invalid_argument unless inner is set, 0 < γ ≤ 1 and steps_per_decay > 0.
  ExponentialDecay(std::unique_ptr<Optimizer<Scalar>> inner, double gamma, double steps_per_decay);
  void step() override;
  // ε_t: the rate of the step that follows t steps.
  double learning_rate_at(long long t) const;
  long long steps() const { return steps_; }
  const Optimizer<Scalar>& inner() const { return *inner_; }

 private:
  std::unique_ptr<Optimizer<Scalar>> inner_;
  double gamma_, steps_per_decay_;
  long long steps_ = 0;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class Momentum<float>;
extern template class Momentum<double>;
extern template class Adam<float>;
extern template class Adam<double>;
extern template class ExponentialDecay<float>;
extern template class ExponentialDecay<double>;

}  // namespace eigennet

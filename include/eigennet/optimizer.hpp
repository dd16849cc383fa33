// Optimizers walk a parameter list (Network::parameters()) and update each value from its
// gradient. Their state (velocities, moments) is indexed by position in that list and
// allocated once, when the optimizer is built, so step() allocates nothing.
#pragma once

#include <vector>

#include "eigennet/parameter.hpp"

namespace eigennet {

template <typename Scalar>
class Optimizer {
 public:
  explicit Optimizer(ParameterList<Scalar> parameters) : parameters_(std::move(parameters)) {}
  virtual ~Optimizer() = default;
  // Applies one update using the gradients currently stored in the parameters.
  virtual void step() = 0;
  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double lr) { learning_rate_ = lr; }

 protected:
  ParameterList<Scalar> parameters_;
  double learning_rate_ = 0.01;
};

// Plain SGD, as in the notebook:  W ← W − ε·dW.
template <typename Scalar>
class Sgd final : public Optimizer<Scalar> {
 public:
  Sgd(ParameterList<Scalar> parameters, double learning_rate);
  void step() override;
};

// SGD with momentum, PyTorch's form:  v ← μ·v + dW;  W ← W − ε·v
// (Nesterov: W ← W − ε·(dW + μ·v)). v starts at zero.
template <typename Scalar>
class Momentum final : public Optimizer<Scalar> {
 public:
  Momentum(ParameterList<Scalar> parameters, double learning_rate, double momentum = 0.9, bool nesterov = false);
  void step() override;

 private:
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
  double beta1_, beta2_, epsilon_;
  long long steps_ = 0;
  std::vector<Matrix<Scalar>> first_moment_, second_moment_;
};

extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class Momentum<float>;
extern template class Momentum<double>;
extern template class Adam<float>;
extern template class Adam<double>;

}  // namespace eigennet

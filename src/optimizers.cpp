#include <cmath>

#include "eigennet/optimizer.hpp"

namespace eigennet {
namespace {

// One zero matrix per parameter, of its shape.
template <typename Scalar>
std::vector<Matrix<Scalar>> zeros_like(const ParameterList<Scalar>& parameters) {
  std::vector<Matrix<Scalar>> state;
  state.reserve(parameters.size());
  for (const auto& p : parameters) state.push_back(Matrix<Scalar>::Zero(p.value->rows(), p.value->cols()));
  return state;
}

template <typename Scalar>
void check_parameters(const ParameterList<Scalar>& parameters, double learning_rate) {
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("optimizer: learning rate must be positive and finite, got " +
                                std::to_string(learning_rate));
  for (const auto& p : parameters)
    if (p.value->rows() != p.gradient->rows() || p.value->cols() != p.gradient->cols())
      throw std::invalid_argument("optimizer: parameter " + p.name + " is " + shape_of(*p.value) +
                                  " but its gradient is " + shape_of(*p.gradient));
}

}  // namespace

template <typename Scalar>
Sgd<Scalar>::Sgd(ParameterList<Scalar> parameters, double learning_rate) : Optimizer<Scalar>(std::move(parameters)) {
  check_parameters(this->parameters_, learning_rate);
  this->learning_rate_ = learning_rate;
}

template <typename Scalar>
void Sgd<Scalar>::step() {
  const Scalar lr = Scalar(this->learning_rate_);
  for (auto& p : this->parameters_) *p.value -= lr * *p.gradient;
}

template <typename Scalar>
Momentum<Scalar>::Momentum(ParameterList<Scalar> parameters, double learning_rate, double momentum, bool nesterov)
    : Optimizer<Scalar>(std::move(parameters)), momentum_(momentum), nesterov_(nesterov) {
  check_parameters(this->parameters_, learning_rate);
  if (!(momentum >= 0 && momentum < 1))
    throw std::invalid_argument("momentum must be in [0, 1), got " + std::to_string(momentum));
  this->learning_rate_ = learning_rate;
  velocity_ = zeros_like(this->parameters_);
}

template <typename Scalar>
void Momentum<Scalar>::step() {
  const Scalar lr = Scalar(this->learning_rate_), mu = Scalar(momentum_);
  for (std::size_t i = 0; i < this->parameters_.size(); ++i) {
    auto& p = this->parameters_[i];
    velocity_[i] = mu * velocity_[i] + *p.gradient;
    if (nesterov_)
      *p.value -= lr * (*p.gradient + mu * velocity_[i]);
    else
      *p.value -= lr * velocity_[i];
  }
}

template <typename Scalar>
Adam<Scalar>::Adam(ParameterList<Scalar> parameters, double learning_rate, double beta1, double beta2, double epsilon)
    : Optimizer<Scalar>(std::move(parameters)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
  check_parameters(this->parameters_, learning_rate);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0))
    throw std::invalid_argument("adam: need 0 ≤ β1, β2 < 1 and eps > 0");
  this->learning_rate_ = learning_rate;
  first_moment_ = zeros_like(this->parameters_);
  second_moment_ = zeros_like(this->parameters_);
}

template <typename Scalar>
void Adam<Scalar>::step() {
  ++steps_;
  const double correction1 = 1 - std::pow(beta1_, double(steps_));
  const double correction2 = 1 - std::pow(beta2_, double(steps_));
  const Scalar b1 = Scalar(beta1_), b2 = Scalar(beta2_), eps = Scalar(epsilon_);
  const Scalar step_size = Scalar(this->learning_rate_ / correction1);
  const Scalar sqrt_correction2 = Scalar(std::sqrt(correction2));
  for (std::size_t i = 0; i < this->parameters_.size(); ++i) {
    auto& p = this->parameters_[i];
    auto g = p.gradient->array();
    first_moment_[i].array() = b1 * first_moment_[i].array() + (Scalar(1) - b1) * g;
    second_moment_[i].array() = b2 * second_moment_[i].array() + (Scalar(1) - b2) * g.square();
    // PyTorch's arrangement: denominator √v / √(1−β2^t) + eps.
    p.value->array() -= step_size * first_moment_[i].array() / (second_moment_[i].array().sqrt() / sqrt_correction2 + eps);
  }
}

template class Sgd<float>;
template class Sgd<double>;
template class Momentum<float>;
template class Momentum<double>;
template class Adam<float>;
template class Adam<double>;

}  // namespace eigennet

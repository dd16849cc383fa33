#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/train/optimizer.hpp"
#include "gemm/parallel_for.hpp"

namespace eigennet {
namespace {

// A parameter's storage as one flat array (every Matrix is contiguous).
template <typename Scalar>
Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> flat(Matrix<Scalar>& m) {
  return {m.data(), m.size()};
}

// Calls update(begin, count) on consecutive slices of [0, size), one per thread of the library's
// policy (a large layer: SGD on W1's 785×1000 takes 120 µs on one thread, 52 µs on two, on the
// machine of tools/bench/README.md). Updates are elementwise, so the result does not depend on
// the split.
template <typename Update>
void for_slices(Index size, const Update& update) {
  const int threads = threads_for(size);
  parallel_for(threads, threads, [&](Index t, int) {
    // Slice boundaries on multiples of 16 entries (whole cache lines for float).
    const Index begin = (size * t / threads) & ~Index(15);
    const Index end = t + 1 == threads ? size : (size * (t + 1) / threads) & ~Index(15);
    update(begin, end - begin);
  });
}

// One zero matrix per parameter, of its shape.
template <typename Scalar>
std::vector<Matrix<Scalar>> zeros_like(const ParameterList<Scalar>& parameters) {
  std::vector<Matrix<Scalar>> state;
  state.reserve(parameters.size());
  for (const auto& p : parameters) state.push_back(Matrix<Scalar>::Zero(p.value->rows(), p.value->cols()));
  return state;
}

template <typename Scalar>
void check_parameters(const ParameterList<Scalar>& parameters) {
  for (const auto& p : parameters)
    if (p.value->rows() != p.gradient->rows() || p.value->cols() != p.gradient->cols())
      throw std::invalid_argument("optimizer: parameter " + p.name + " is " + shape_of(*p.value) +
                                  " but its gradient is " + shape_of(*p.gradient));
}

}  // namespace

template <typename Scalar>
void Optimizer<Scalar>::set_learning_rate(double lr) {
  if (!(lr > 0) || !std::isfinite(lr))
    throw std::invalid_argument("optimizer: learning rate must be positive and finite, got " + std::to_string(lr));
  learning_rate_ = lr;
}

template <typename Scalar>
Sgd<Scalar>::Sgd(ParameterList<Scalar> parameters, double learning_rate)
    : Optimizer<Scalar>(learning_rate), parameters_(std::move(parameters)) {
  check_parameters(parameters_);
}

template <typename Scalar>
void Sgd<Scalar>::step() {
  const Scalar lr = Scalar(this->learning_rate());
  for (auto& p : parameters_) {
    auto w = flat(*p.value);
    auto g = flat(*p.gradient);
    for_slices(w.size(), [&](Index begin, Index count) { w.segment(begin, count) -= lr * g.segment(begin, count); });
  }
}

template <typename Scalar>
Momentum<Scalar>::Momentum(ParameterList<Scalar> parameters, double learning_rate, double momentum, bool nesterov)
    : Optimizer<Scalar>(learning_rate), parameters_(std::move(parameters)), momentum_(momentum), nesterov_(nesterov) {
  check_parameters(parameters_);
  if (!(momentum >= 0 && momentum < 1))
    throw std::invalid_argument("momentum must be in [0, 1), got " + std::to_string(momentum));
  velocity_ = zeros_like(parameters_);
}

template <typename Scalar>
void Momentum<Scalar>::step() {
  const Scalar lr = Scalar(this->learning_rate()), mu = Scalar(momentum_);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    auto& p = parameters_[i];
    auto w = flat(*p.value);
    auto g = flat(*p.gradient);
    auto v = flat(velocity_[i]);
    for_slices(w.size(), [&](Index begin, Index count) {
      auto vs = v.segment(begin, count);
      auto gs = g.segment(begin, count);
      vs = mu * vs + gs;
      if (nesterov_)
        w.segment(begin, count) -= lr * (gs + mu * vs);
      else
        w.segment(begin, count) -= lr * vs;
    });
  }
}

template <typename Scalar>
Adam<Scalar>::Adam(ParameterList<Scalar> parameters, double learning_rate, double beta1, double beta2, double epsilon)
    : Optimizer<Scalar>(learning_rate), parameters_(std::move(parameters)), beta1_(beta1), beta2_(beta2),
      epsilon_(epsilon) {
  check_parameters(parameters_);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0))
    throw std::invalid_argument("adam: need 0 ≤ β1, β2 < 1 and eps > 0");
  first_moment_ = zeros_like(parameters_);
  second_moment_ = zeros_like(parameters_);
}

template <typename Scalar>
void Adam<Scalar>::step() {
  ++steps_;
  const double correction1 = 1 - std::pow(beta1_, double(steps_));
  const double correction2 = 1 - std::pow(beta2_, double(steps_));
  const Scalar b1 = Scalar(beta1_), b2 = Scalar(beta2_), eps = Scalar(epsilon_);
  const Scalar step_size = Scalar(this->learning_rate() / correction1);
  const Scalar sqrt_correction2 = Scalar(std::sqrt(correction2));
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    auto& p = parameters_[i];
    auto w = flat(*p.value);
    auto g_all = flat(*p.gradient);
    auto m_all = flat(first_moment_[i]);
    auto v_all = flat(second_moment_[i]);
    for_slices(w.size(), [&](Index begin, Index count) {
      auto g = g_all.segment(begin, count);
      auto m = m_all.segment(begin, count);
      auto v = v_all.segment(begin, count);
      m = b1 * m + (Scalar(1) - b1) * g;
      v = b2 * v + (Scalar(1) - b2) * g.square();
      // PyTorch's arrangement: denominator √v / √(1−β2^t) + eps.
      w.segment(begin, count) -= step_size * m / (v.sqrt() / sqrt_correction2 + eps);
    });
  }
}

template <typename Scalar>
ExponentialDecay<Scalar>::ExponentialDecay(std::unique_ptr<Optimizer<Scalar>> inner, double gamma,
                                           double steps_per_decay)
    : Optimizer<Scalar>(inner ? inner->learning_rate() : 1.0), inner_(std::move(inner)), gamma_(gamma),
      steps_per_decay_(steps_per_decay) {
  if (!inner_) throw std::invalid_argument("exponential decay: no optimizer to schedule (inner is empty)");
  if (!(gamma > 0 && gamma <= 1))
    throw std::invalid_argument("exponential decay: gamma must be in (0, 1], got " + std::to_string(gamma));
  if (!(steps_per_decay > 0) || !std::isfinite(steps_per_decay))
    throw std::invalid_argument("exponential decay: steps per decay must be positive and finite, got " +
                                std::to_string(steps_per_decay));
}

template <typename Scalar>
double ExponentialDecay<Scalar>::learning_rate_at(long long t) const {
  return this->learning_rate() * std::pow(gamma_, double(t) / steps_per_decay_);
}

template <typename Scalar>
void ExponentialDecay<Scalar>::step() {
  inner_->set_learning_rate(learning_rate_at(steps_++));
  inner_->step();
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Momentum<float>;
template class Momentum<double>;
template class Adam<float>;
template class Adam<double>;
template class ExponentialDecay<float>;
template class ExponentialDecay<double>;

}  // namespace eigennet

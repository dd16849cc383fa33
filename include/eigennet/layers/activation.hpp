// Base of the parameter-free, shape-preserving layers (ReLU, Sigmoid, Tanh, Softmax, ...).
#pragma once

#include "eigennet/layers/layer.hpp"

namespace eigennet {

template <typename Scalar>
class Activation : public Layer<Scalar> {
 public:
  explicit Activation(Index size) : size_(size) {
    if (size <= 0) throw std::invalid_argument("activation: size must be positive, got " + std::to_string(size));
  }
  std::string describe() const override { return this->kind() + " (" + std::to_string(size_) + ")"; }
  Index input_size() const override { return size_; }
  Index output_size() const override { return size_; }

 private:
  Index size_;
};

}  // namespace eigennet

// Logistic sigmoid: y = 1 / (1 + exp(-x)), elementwise.
#pragma once

#include "eigennet/layers/activation.hpp"

namespace eigennet {

template <typename Scalar>
class Sigmoid final : public Activation<Scalar> {
 public:
  explicit Sigmoid(Index size) : Activation<Scalar>(size) {}
  std::string kind() const override { return "sigmoid"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Sigmoid>(*this); }
  LayerPtr<double> to_double() const override { return std::make_unique<Sigmoid<double>>(this->input_size()); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
};

extern template class Sigmoid<float>;
extern template class Sigmoid<double>;

}  // namespace eigennet

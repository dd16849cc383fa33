// Hyperbolic tangent: y = tanh(x), elementwise.
#pragma once

#include "eigennet/layers/activation.hpp"

namespace eigennet {

template <typename Scalar>
class Tanh final : public Activation<Scalar> {
 public:
  explicit Tanh(Index size) : Activation<Scalar>(size) {}
  std::string kind() const override { return "tanh"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Tanh>(*this); }
  LayerPtr<double> to_double() const override { return std::make_unique<Tanh<double>>(this->input_size()); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
};

extern template class Tanh<float>;
extern template class Tanh<double>;

}  // namespace eigennet

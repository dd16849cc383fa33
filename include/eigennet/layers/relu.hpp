// ReLU: y = max(x, 0), elementwise.
#pragma once

#include "eigennet/layers/activation.hpp"

namespace eigennet {

template <typename Scalar>
class Relu final : public Activation<Scalar> {
 public:
  explicit Relu(Index size) : Activation<Scalar>(size) {}
  std::string kind() const override { return "relu"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Relu>(*this); }
  LayerPtr<double> to_double() const override { return std::make_unique<Relu<double>>(this->input_size()); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
};

extern template class Relu<float>;
extern template class Relu<double>;

}  // namespace eigennet

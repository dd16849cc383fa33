// Softmax over each row (sample): y_j = exp(x_j - max x) / sum_k exp(x_k - max x).
#pragma once

#include "eigennet/layers/activation.hpp"

namespace eigennet {

template <typename Scalar>
class Softmax final : public Activation<Scalar> {
 public:
  explicit Softmax(Index size) : Activation<Scalar>(size) {}
  std::string kind() const override { return "softmax"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Softmax>(*this); }
  LayerPtr<double> to_double() const override { return std::make_unique<Softmax<double>>(this->input_size()); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
};

extern template class Softmax<float>;
extern template class Softmax<double>;

}  // namespace eigennet

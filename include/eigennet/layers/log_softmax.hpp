// Log-softmax over each row: y_j = x_j - max x - log sum_k exp(x_k - max x).
#pragma once

#include "eigennet/layers/activation.hpp"

namespace eigennet {

template <typename Scalar>
class LogSoftmax final : public Activation<Scalar> {
 public:
  explicit LogSoftmax(Index size) : Activation<Scalar>(size) {}
  std::string kind() const override { return "log_softmax"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<LogSoftmax>(*this); }
  LayerPtr<double> to_double() const override { return std::make_unique<LogSoftmax<double>>(this->input_size()); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
};

extern template class LogSoftmax<float>;
extern template class LogSoftmax<double>;

}  // namespace eigennet

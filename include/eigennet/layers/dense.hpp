// Fully connected layer in the notebook's bias-augmented form.
#pragma once

#include "eigennet/layers/layer.hpp"

namespace eigennet {

// Y = [X, 1] · W, with W of shape (D_in+1)×D_out whose last row is the bias (the notebook's
// layout). With bias = false, W is D_in×D_out and Y = X · W.
//
// [X, 1] is never materialised: Y = X · W[0:D_in] + 1 · W[D_in], i.e. one GEMM and a row
// broadcast; the backward's bias row is the column sum of dY.
template <typename Scalar>
class Dense final : public Layer<Scalar> {
 public:
  Dense(Index input_size, Index output_size, bool bias = true);

  std::string kind() const override { return "dense"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Dense>(*this); }
  LayerPtr<double> to_double() const override {
    auto promoted = std::make_unique<Dense<double>>(input_size_, output_size_, has_bias_);
    promoted->weights() = weights_.template cast<double>();
    return promoted;
  }
  std::string describe() const override;
  Index input_size() const override { return input_size_; }
  Index output_size() const override { return output_size_; }
  bool has_bias() const { return has_bias_; }

  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
  // backward with W ← W − ε·dW fused into the dW product (weights_gradient() is not written).
  void backward_sgd(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                    MatrixRef<Scalar> dx, bool compute_input_gradient, Scalar learning_rate) override;
  bool has_fused_sgd() override { return true; }
  ParameterList<Scalar> parameters() override { return {{"W", &weights_, &weights_gradient_}}; }

  // (D_in+1)×D_out (bias last row) or D_in×D_out without bias.
  Matrix<Scalar>& weights() { return weights_; }
  const Matrix<Scalar>& weights() const { return weights_; }
  const Matrix<Scalar>& weights_gradient() const { return weights_gradient_; }

 private:
  Index input_size_, output_size_;
  bool has_bias_;
  Matrix<Scalar> weights_, weights_gradient_;
};

extern template class Dense<float>;
extern template class Dense<double>;

}  // namespace eigennet

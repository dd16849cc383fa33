// 2-D max-pooling over each channel, as PyTorch's MaxPool2d (dilation 1).
#pragma once

#include "eigennet/layers/image_shape.hpp"
#include "eigennet/layers/layer.hpp"

namespace eigennet {

// X: N×(C·H·W) → Y: N×(C·H_out·W_out), images channel-major in each row (image_shape.hpp).
// Window (i, j) of channel c covers rows i·s − p … i·s − p + k − 1 and the same columns,
// clipped to the image (padding never wins: it acts as −∞). Sizes follow PyTorch's rule,
// ceil_mode included: with ceil_mode a last, partial window that runs past the border is
// kept as long as it starts inside the image or the left padding (pool_output_size).
//
// Forward records, for every output entry, the position of its maximum inside the sample's
// row (the first maximum on ties, in row-major window order, as PyTorch; a NaN wins), so
// backward routes each dY entry to that input entry (adding where windows overlap).
// The arg-max buffer is allocated by reserve() (or on the first batch larger than any before).
template <typename Scalar>
class MaxPool2d final : public Layer<Scalar>, public ImageLayer {
 public:
  // stride 0 means stride = kernel (PyTorch's default).
  MaxPool2d(ImageShape input, Index kernel, Index stride = 0, Index padding = 0, bool ceil_mode = false);

  std::string kind() const override { return "maxpool2d"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<MaxPool2d>(*this); }
  LayerPtr<double> to_double() const override {
    return std::make_unique<MaxPool2d<double>>(input_, kernel_, stride_, padding_, ceil_mode_);
  }
  // "maxpool2d 10×24×24→10×12×12 (2×2, stride 2, pad 0, ceil)"
  std::string describe() const override;
  Index input_size() const override { return input_.size(); }
  Index output_size() const override { return output_.size(); }
  ImageShape input_shape() const override { return input_; }
  ImageShape output_shape() const override { return output_; }
  Index kernel() const { return kernel_; }
  Index stride() const { return stride_; }
  Index padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }

  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
  void reserve(Index max_batch) override;

  // Arg-max of the last forward: N×output_size, indices into the sample's input row.
  const Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& argmax() const {
    return argmax_;
  }

 private:
  ImageShape input_, output_;
  Index kernel_, stride_, padding_;
  bool ceil_mode_;
  Index forward_rows_ = 0;  // rows of the last forward (backward checks it)
  Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> argmax_;
};

extern template class MaxPool2d<float>;
extern template class MaxPool2d<double>;

}  // namespace eigennet

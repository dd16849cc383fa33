// 2-D convolution (cross-correlation, as PyTorch's Conv2d) with zero padding and a bias per
// output channel.
#pragma once

#include <vector>

#include "eigennet/layers/image_shape.hpp"
#include "eigennet/layers/layer.hpp"

namespace eigennet {

// X: N×(C_in·H·W) → Y: N×(C_out·H_out·W_out), images channel-major in each row (see
// image_shape.hpp), with
//   Y[n, o, i, j] = b[o] + Σ_{c,u,v} W[o, c, u, v] · X[n, c, i·s − p + u, j·s − p + v]
// (pixels outside the input are zero), H_out = ⌊(H + 2p − kh)/s⌋ + 1, likewise W_out.
//
// Parameters:
//   "W": C_out × (C_in·kh·kw); row o holds the kernel of output channel o in (c, u, v) order,
//        i.e. the same memory as PyTorch's weight of shape (C_out, C_in, kh, kw).
//   "b": C_out × 1, PyTorch's bias (C_out).
//
// Per sample, the forward is one GEMM through gemm(): Y_n = W · cols_n + b·1ᵀ, where
// cols_n = im2col(X_n) is (C_in·kh·kw) × (H_out·W_out) and Y_n, the C_out × (H_out·W_out)
// matrix, is exactly sample n's row of Y. Samples are split over OpenMP threads (thread_count()
// of them) when the batch is large enough; results do not depend on the thread count.
// Workspaces are allocated by reserve() (or on the first batch larger than any before), never
// per step.
template <typename Scalar>
class Conv2d final : public Layer<Scalar>, public ImageLayer {
 public:
  // Square kernel.
  Conv2d(ImageShape input, Index out_channels, Index kernel, Index stride = 1, Index padding = 0);
  // kernel_h × kernel_w kernel; stride and padding apply to both axes.
  Conv2d(ImageShape input, Index out_channels, Index kernel_h, Index kernel_w, Index stride, Index padding);

  std::string kind() const override { return "conv2d"; }
  LayerPtr<Scalar> clone() const override { return std::make_unique<Conv2d>(*this); }
  LayerPtr<double> to_double() const override {
    auto promoted = std::make_unique<Conv2d<double>>(input_, output_.channels, kernel_h_, kernel_w_, stride_, padding_);
    promoted->weights() = weights_.template cast<double>();
    promoted->bias() = bias_.template cast<double>();
    return promoted;
  }
  // "conv2d 1×28×28→10×24×24 (5×5, stride 1, pad 0, +bias)"
  std::string describe() const override;
  Index input_size() const override { return input_.size(); }
  Index output_size() const override { return output_.size(); }
  ImageShape input_shape() const override { return input_; }
  ImageShape output_shape() const override { return output_; }
  Index kernel_h() const { return kernel_h_; }
  Index kernel_w() const { return kernel_w_; }
  Index stride() const { return stride_; }
  Index padding() const { return padding_; }

  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override;
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                MatrixRef<Scalar> dx, bool compute_input_gradient) override;
  ParameterList<Scalar> parameters() override {
    return {{"W", &weights_, &weights_gradient_}, {"b", &bias_, &bias_gradient_}};
  }
  void reserve(Index max_batch) override;

  Matrix<Scalar>& weights() { return weights_; }  // C_out × (C_in·kh·kw)
  const Matrix<Scalar>& weights() const { return weights_; }
  Matrix<Scalar>& bias() { return bias_; }  // C_out × 1
  const Matrix<Scalar>& bias() const { return bias_; }
  const Matrix<Scalar>& weights_gradient() const { return weights_gradient_; }
  const Matrix<Scalar>& bias_gradient() const { return bias_gradient_; }

 private:
  int threads_for(Index batch) const;
  void ensure_workspaces(int threads);

  ImageShape input_, output_;
  Index kernel_h_, kernel_w_, stride_, padding_;
  Matrix<Scalar> weights_, weights_gradient_, bias_, bias_gradient_;
  // One im2col buffer ((C_in·kh·kw) × (H_out·W_out)) per thread; one dW partial sum per chunk
  // of samples (a fixed number of chunks, so dW does not depend on the thread count).
  static constexpr Index kWeightChunks = 8;
  std::vector<Matrix<Scalar>> columns_, weight_partials_;
};

extern template class Conv2d<float>;
extern template class Conv2d<double>;

}  // namespace eigennet

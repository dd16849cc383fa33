#include "eigennet/layers/conv2d.hpp"

#include <algorithm>

#include "eigennet/gemm/gemm.hpp"
#include "eigennet/threads.hpp"
#include "layers/im2col.hpp"
#include "gemm/parallel_for.hpp"

namespace eigennet {

namespace {

std::string kernel_text(Index kh, Index kw, Index stride, Index padding) {
  return std::to_string(kh) + "×" + std::to_string(kw) + ", stride " + std::to_string(stride) + ", pad " +
         std::to_string(padding);
}

}  // namespace

template <typename Scalar>
Conv2d<Scalar>::Conv2d(ImageShape input, Index out_channels, Index kernel, Index stride, Index padding)
    : Conv2d(input, out_channels, kernel, kernel, stride, padding) {}

template <typename Scalar>
Conv2d<Scalar>::Conv2d(ImageShape input, Index out_channels, Index kernel_h, Index kernel_w, Index stride,
                       Index padding)
    : input_(input), kernel_h_(kernel_h), kernel_w_(kernel_w), stride_(stride), padding_(padding) {
  const std::string what = "conv2d on " + input.to_string() + " (" + kernel_text(kernel_h, kernel_w, stride, padding) +
                           ", " + std::to_string(out_channels) + " output channels)";
  if (input.channels <= 0 || input.height <= 0 || input.width <= 0 || out_channels <= 0)
    throw std::invalid_argument(what + ": every size must be positive");
  output_ = {out_channels, conv_output_size(input.height, kernel_h, stride, padding, what),
             conv_output_size(input.width, kernel_w, stride, padding, what)};
  weights_ = Matrix<Scalar>::Zero(out_channels, input.channels * kernel_h * kernel_w);
  weights_gradient_ = Matrix<Scalar>::Zero(weights_.rows(), weights_.cols());
  bias_ = Matrix<Scalar>::Zero(out_channels, 1);
  bias_gradient_ = Matrix<Scalar>::Zero(out_channels, 1);
}

template <typename Scalar>
std::string Conv2d<Scalar>::describe() const {
  return "conv2d " + input_.to_string() + "→" + output_.to_string() + " (" +
         kernel_text(kernel_h_, kernel_w_, stride_, padding_) + ", +bias)";
}

// Threads for a batch: the library's policy for the batch's multiply-adds, one sample at least each.
template <typename Scalar>
int Conv2d<Scalar>::threads_for(Index batch) const {
  const Index per_sample = weights_.rows() * weights_.cols() * output_.plane();
  return static_cast<int>(std::max<Index>(1, std::min<Index>(eigennet::threads_for(batch * per_sample), batch)));
}

template <typename Scalar>
void Conv2d<Scalar>::ensure_workspaces(int threads) {
  if (weight_partials_.empty())
    weight_partials_.assign(kWeightChunks, Matrix<Scalar>::Zero(weights_.rows(), weights_.cols()));
  const auto count = static_cast<std::size_t>(threads);
  if (columns_.size() >= count) return;
  columns_.resize(count);
  for (auto& c : columns_)
    if (c.size() == 0) c.setZero(weights_.cols(), output_.plane());
}

template <typename Scalar>
void Conv2d<Scalar>::reserve(Index max_batch) {
  ensure_workspaces(std::max(threads_for(max_batch), thread_count()));
}

// x: N×(C_in·H·W) → y: N×(C_out·H_out·W_out).
// Per sample n: cols = im2col(X_n), (C_in·kh·kw) × P with P = H_out·W_out;
//               Y_n = W · cols + b·1ᵀ, C_out × P = sample n's row of Y (channel-major).
template <typename Scalar>
void Conv2d<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  const ConvGeometry g{input_, kernel_h_, kernel_w_, stride_, padding_, output_.height, output_.width};
  const Index n_samples = x.rows(), c_out = output_.channels, plane = output_.plane();
  const int threads = threads_for(n_samples);
  ensure_workspaces(threads);
  parallel_for(n_samples, threads, [&](Index n, int thread) {
    Matrix<Scalar>& columns = columns_[static_cast<std::size_t>(thread)];
    im2col(x.data() + n * x.outerStride(), g, columns.data());
    Eigen::Map<Matrix<Scalar>> y_n(y.data() + n * y.outerStride(), c_out, plane);
    gemm<Scalar>(Op::None, Op::None, 1, weights_, columns, 0, y_n);
    y_n.colwise() += bias_.col(0);
  });
}

// x: N×(C_in·H·W), dy: N×(C_out·P) → dW: C_out×(C_in·kh·kw), db: C_out×1, dx: N×(C_in·H·W).
// From Y_n = W·cols_n + b·1ᵀ (cols_n = im2col(X_n), a linear copy of X_n's pixels):
//   dW = Σ_n dY_n · cols_nᵀ          (cols_n recomputed here rather than stored by forward)
//   db = Σ_n dY_n · 1                (sum of dY over samples and positions, per channel)
//   dcols_n = Wᵀ · dY_n,  dX_n = col2im(dcols_n)   (col2im is im2col's adjoint: it adds each
//                                     entry back into the pixel it was copied from)
template <typename Scalar>
void Conv2d<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                              MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  const ConvGeometry g{input_, kernel_h_, kernel_w_, stride_, padding_, output_.height, output_.width};
  const Index n_samples = x.rows(), c_out = output_.channels, plane = output_.plane();

  for (Index o = 0; o < c_out; ++o) {
    Scalar sum = 0;
    for (Index n = 0; n < n_samples; ++n) sum += dy.row(n).segment(o * plane, plane).sum();
    bias_gradient_(o, 0) = sum;
  }

  // dW is summed per chunk of consecutive samples, then over the chunks in order: the chunks
  // are the same for any thread count, so the result does not depend on it.
  const int threads = threads_for(n_samples);
  ensure_workspaces(threads);
  const Index chunks = std::min<Index>(kWeightChunks, n_samples);
  parallel_for(chunks, threads, [&](Index chunk, int thread) {
    Matrix<Scalar>& columns = columns_[static_cast<std::size_t>(thread)];
    Matrix<Scalar>& d_weights = weight_partials_[static_cast<std::size_t>(chunk)];
    d_weights.setZero();
    for (Index n = n_samples * chunk / chunks; n < n_samples * (chunk + 1) / chunks; ++n) {
      const Eigen::Map<const Matrix<Scalar>> dy_n(dy.data() + n * dy.outerStride(), c_out, plane);
      im2col(x.data() + n * x.outerStride(), g, columns.data());
      gemm<Scalar>(Op::None, Op::Transpose, 1, dy_n, columns, 1, d_weights);
      if (compute_input_gradient) {
        gemm<Scalar>(Op::Transpose, Op::None, 1, weights_, dy_n, 0, columns);  // dcols_n, in the same buffer
        col2im(columns.data(), g, dx.data() + n * dx.outerStride());
      }
    }
  });
  weights_gradient_ = weight_partials_[0];
  for (Index c = 1; c < chunks; ++c) weights_gradient_ += weight_partials_[static_cast<std::size_t>(c)];
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace eigennet

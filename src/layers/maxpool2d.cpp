#include "eigennet/layers/maxpool2d.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gemm/parallel_for.hpp"

namespace eigennet {

template <typename Scalar>
MaxPool2d<Scalar>::MaxPool2d(ImageShape input, Index kernel, Index stride, Index padding, bool ceil_mode)
    : input_(input), kernel_(kernel), stride_(stride == 0 ? kernel : stride), padding_(padding), ceil_mode_(ceil_mode) {
  const std::string what = "maxpool2d on " + input.to_string() + " (" + std::to_string(kernel) + "×" +
                           std::to_string(kernel) + ", stride " + std::to_string(stride_) + ", pad " +
                           std::to_string(padding) + (ceil_mode ? ", ceil)" : ")");
  if (input.channels <= 0 || input.height <= 0 || input.width <= 0)
    throw std::invalid_argument(what + ": every size must be positive");
  if (input.size() > std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument(what + ": image too large for 32-bit arg-max indices");
  output_ = {input.channels, pool_output_size(input.height, kernel, stride_, padding, ceil_mode, what),
             pool_output_size(input.width, kernel, stride_, padding, ceil_mode, what)};
}

template <typename Scalar>
std::string MaxPool2d<Scalar>::describe() const {
  return "maxpool2d " + input_.to_string() + "→" + output_.to_string() + " (" + std::to_string(kernel_) + "×" +
         std::to_string(kernel_) + ", stride " + std::to_string(stride_) + ", pad " + std::to_string(padding_) +
         (ceil_mode_ ? ", ceil)" : ")");
}

template <typename Scalar>
void MaxPool2d<Scalar>::reserve(Index max_batch) {
  if (argmax_.rows() < max_batch) argmax_.setZero(max_batch, output_.size());
}

// x: N×(C·H·W) → y: N×(C·H_out·W_out), argmax: N×(C·H_out·W_out).
// y[c, i, j] = max of x[c, h, w] over the window clipped to the image; the arg-max is kept.
template <typename Scalar>
void MaxPool2d<Scalar>::forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) {
  this->check_forward_shapes(x, y);
  const Index n_samples = x.rows(), H = input_.height, W = input_.width;
  reserve(n_samples);
  forward_rows_ = n_samples;
  parallel_for(n_samples, threads_for(n_samples * input_.size()), [&](Index n, int) {
    const Scalar* image = x.data() + n * x.outerStride();
    Scalar* out = y.data() + n * y.outerStride();
    std::int32_t* arg = argmax_.data() + n * argmax_.outerStride();
    for (Index c = 0; c < output_.channels; ++c)
      for (Index i = 0; i < output_.height; ++i) {
        const Index h_begin = std::max<Index>(i * stride_ - padding_, 0);
        const Index h_end = std::min<Index>(i * stride_ - padding_ + kernel_, H);
        for (Index j = 0; j < output_.width; ++j, ++out, ++arg) {
          const Index w_begin = std::max<Index>(j * stride_ - padding_, 0);
          const Index w_end = std::min<Index>(j * stride_ - padding_ + kernel_, W);
          // As PyTorch: start at −∞ on the window's first pixel; a larger value or a NaN wins.
          Index best = (c * H + h_begin) * W + w_begin;
          Scalar best_value = -std::numeric_limits<Scalar>::infinity();
          for (Index h = h_begin; h < h_end; ++h)
            for (Index w = w_begin; w < w_end; ++w) {
              const Index at = (c * H + h) * W + w;
              const Scalar value = image[at];
              // Without branches (which element wins is random: a branch mispredicts half the
              // time and costs more than the rest of the loop): select by an integer mask.
              const Index wins = -Index((value > best_value) | std::isnan(value));  // all ones or 0
              best = (at & wins) | (best & ~wins);
              best_value = image[best];
            }
          *out = image[best];
          *arg = static_cast<std::int32_t>(best);
        }
      }
  });
}

// dy: N×(C·H_out·W_out) → dx: N×(C·H·W).
// y[o] = x[argmax[o]] locally, so ∂y[o]/∂x[a] = 1 if a = argmax[o], else 0:
// dx[a] = Σ over the outputs o whose arg-max is a of dy[o] (windows may overlap).
template <typename Scalar>
void MaxPool2d<Scalar>::backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                                 MatrixRef<Scalar> dx, bool compute_input_gradient) {
  this->check_backward_shapes(x, y, dy, dx, compute_input_gradient);
  if (forward_rows_ != x.rows())
    throw std::logic_error(describe() + ": backward on " + std::to_string(x.rows()) +
                           " rows, but the last forward saw " + std::to_string(forward_rows_));
  if (!compute_input_gradient) return;
  const Index n_samples = x.rows(), outputs = output_.size();
  parallel_for(n_samples, threads_for(n_samples * input_.size()), [&](Index n, int) {
    dx.row(n).setZero();
    Scalar* d_image = dx.data() + n * dx.outerStride();
    const Scalar* d_out = dy.data() + n * dy.outerStride();
    const std::int32_t* arg = argmax_.data() + n * argmax_.outerStride();
    for (Index o = 0; o < outputs; ++o) d_image[arg[o]] += d_out[o];
  });
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;

}  // namespace eigennet

// Image shapes (C, H, W) and the output-size arithmetic of convolution and pooling.
//
// Layout: a batch of images is an N×(C·H·W) matrix, one image per row, channel-major inside the
// row: entry (c, h, w) of sample n is X(n, (c·H + h)·W + w). This is PyTorch's NCHW memory
// order, so flattening a feature map for a dense layer is the identity: no Flatten layer is
// needed (a dense layer after a C×H×W map simply takes C·H·W inputs, in PyTorch's order), and
// elementwise layers (ReLU, ...) work on feature maps unchanged.
#pragma once

#include <string>

#include "eigennet/types.hpp"

namespace eigennet {

struct ImageShape {
  Index channels = 0, height = 0, width = 0;

  Index size() const { return channels * height * width; }
  Index plane() const { return height * width; }
  // "3×28×28"
  std::string to_string() const {
    return std::to_string(channels) + "×" + std::to_string(height) + "×" + std::to_string(width);
  }
  friend bool operator==(const ImageShape& a, const ImageShape& b) {
    return a.channels == b.channels && a.height == b.height && a.width == b.width;
  }
  friend bool operator!=(const ImageShape& a, const ImageShape& b) { return !(a == b); }
};

// Output length of a convolution along one axis (PyTorch's Conv2d, dilation 1):
//   floor((input + 2·padding − kernel) / stride) + 1.
// Throws std::invalid_argument (message starts with `what`) unless kernel, stride ≥ 1,
// padding ≥ 0 and the padded input holds at least one kernel.
Index conv_output_size(Index input, Index kernel, Index stride, Index padding, const std::string& what);

// Output length of a max-pool along one axis (PyTorch's pooling_output_shape, dilation 1):
//   floor or ceil((input + 2·padding − kernel) / stride) + 1,
// and with ceil_mode the last window is dropped unless it starts inside the input or the left
// padding, i.e. kept only when (out − 1)·stride < input + padding.
// Throws std::invalid_argument unless kernel, stride ≥ 1, 0 ≤ padding ≤ kernel/2 (PyTorch's
// rule: every window then holds at least one input pixel) and the output is not empty.
Index pool_output_size(Index input, Index kernel, Index stride, Index padding, bool ceil_mode,
                       const std::string& what);

// Layers that work on images report the shapes they take and give, so that errors (and
// summaries) can name them.
class ImageLayer {
 public:
  virtual ~ImageLayer() = default;
  virtual ImageShape input_shape() const = 0;
  virtual ImageShape output_shape() const = 0;
};

}  // namespace eigennet

// im2col / col2im for one image (internal to the library).
#pragma once

#include "eigennet/layers/image_shape.hpp"

namespace eigennet {

// A convolution's geometry: input C×H×W, kernel kh×kw, stride, zero padding, output size.
struct ConvGeometry {
  ImageShape input;
  Index kernel_h, kernel_w, stride, padding;
  Index out_h, out_w;

  Index rows() const { return input.channels * kernel_h * kernel_w; }  // of the column matrix
  Index cols() const { return out_h * out_w; }
};

// image: one C×H×W image (contiguous) → columns: rows() × cols(), row-major, with
//   columns[(c·kh + u)·kw + v, i·W_out + j] = image[c, i·s − p + u, j·s − p + v]  (0 outside).
template <typename Scalar>
void im2col(const Scalar* image, const ConvGeometry& g, Scalar* columns);

// The adjoint of im2col: image (overwritten) = Σ of every column entry into the pixel it was
// copied from (entries that came from the padding are dropped).
template <typename Scalar>
void col2im(const Scalar* columns, const ConvGeometry& g, Scalar* image);

}  // namespace eigennet

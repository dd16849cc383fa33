#include "layers/im2col.hpp"

#include <algorithm>

namespace eigennet {

namespace {

// Output columns j whose input column j·s − p + v lies inside [0, W): j in [first, last).
void valid_range(Index offset, Index stride, Index size, Index out, Index& first, Index& last) {
  // j·s + offset ≥ 0  ⇔  j ≥ ceil(−offset / s);   j·s + offset < size  ⇔  j < ceil((size − offset) / s).
  first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  last = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  first = std::min(first, out);
  last = std::max(first, std::min(last, out));
}

}  // namespace

template <typename Scalar>
void im2col(const Scalar* image, const ConvGeometry& g, Scalar* columns) {
  const Index H = g.input.height, W = g.input.width, s = g.stride, p = g.padding;
  Scalar* out = columns;
  for (Index c = 0; c < g.input.channels; ++c)
    for (Index u = 0; u < g.kernel_h; ++u)
      for (Index v = 0; v < g.kernel_w; ++v) {
        Index j_first, j_last;
        valid_range(v - p, s, W, g.out_w, j_first, j_last);
        for (Index i = 0; i < g.out_h; ++i, out += g.out_w) {
          const Index h = i * s - p + u;
          if (h < 0 || h >= H) {
            std::fill(out, out + g.out_w, Scalar(0));
            continue;
          }
          const Scalar* row = image + (c * H + h) * W;  // pixel (h, w) is row[w], w = j·s − p + v
          std::fill(out, out + j_first, Scalar(0));
          if (s == 1)
            std::copy(row + j_first + v - p, row + j_last + v - p, out + j_first);
          else
            for (Index j = j_first; j < j_last; ++j) out[j] = row[j * s + v - p];
          std::fill(out + j_last, out + g.out_w, Scalar(0));
        }
      }
}

template <typename Scalar>
void col2im(const Scalar* columns, const ConvGeometry& g, Scalar* image) {
  const Index H = g.input.height, W = g.input.width, s = g.stride, p = g.padding;
  std::fill(image, image + g.input.size(), Scalar(0));
  const Scalar* in = columns;
  for (Index c = 0; c < g.input.channels; ++c)
    for (Index u = 0; u < g.kernel_h; ++u)
      for (Index v = 0; v < g.kernel_w; ++v) {
        Index j_first, j_last;
        valid_range(v - p, s, W, g.out_w, j_first, j_last);
        for (Index i = 0; i < g.out_h; ++i, in += g.out_w) {
          const Index h = i * s - p + u;
          if (h < 0 || h >= H) continue;
          Scalar* row = image + (c * H + h) * W;
          for (Index j = j_first; j < j_last; ++j) row[j * s + v - p] += in[j];
        }
      }
}

template void im2col<float>(const float*, const ConvGeometry&, float*);
template void im2col<double>(const double*, const ConvGeometry&, double*);
template void col2im<float>(const float*, const ConvGeometry&, float*);
template void col2im<double>(const double*, const ConvGeometry&, double*);

}  // namespace eigennet

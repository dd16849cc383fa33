// Scaling, one-hot targets and normalisation of image data.
#include "eigennet/data/preprocess.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {

template <typename Scalar>
Matrix<Scalar> to_unit_scale(const PixelMatrix& pixels) {
  // Divide (not multiply by 1/255): the reciprocal is inexact and would differ from numpy.
  return pixels.cast<Scalar>() / Scalar(255);
}

template <typename Scalar>
Matrix<Scalar> one_hot(const Labels& labels, Index classes) {
  Matrix<Scalar> out = Matrix<Scalar>::Zero(labels.size(), classes);
  for (Index i = 0; i < labels.size(); ++i) {
    if (labels(i) < 0 || labels(i) >= classes)
      throw std::invalid_argument("one_hot: label " + std::to_string(labels(i)) + " at index " +
                                  std::to_string(i) + " is outside 0.." + std::to_string(classes - 1));
    out(i, labels(i)) = Scalar(1);
  }
  return out;
}

namespace {

// Mean and population std of value(r, c) over rows × cols, in double, in two passes (the one-pass
// formula E[x²] − E[x]² loses digits for 47 M pixels), entries in row-major order.
template <typename Value>
Normalization statistics(Index rows, Index cols, const Value& value) {
  double sum = 0.0;
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) sum += value(r, c);
  const double count = static_cast<double>(rows) * static_cast<double>(cols);
  const double mean = sum / count;
  double squares = 0.0;
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const double d = value(r, c) - mean;
      squares += d * d;
    }
  return {mean, std::sqrt(squares / count)};
}

void require_std(const Normalization& n) {
  if (!(n.std > 0.0))
    throw std::invalid_argument("normalisation: std must be > 0, got " + std::to_string(n.std) +
                                " (all values equal?)");
}

}  // namespace

template <typename Scalar>
Normalization compute_normalization(const ConstMatrixRef<Scalar>& x) {
  if (x.size() == 0) throw std::invalid_argument("compute_normalization: empty matrix");
  return statistics(x.rows(), x.cols(), [&](Index r, Index c) { return static_cast<double>(x(r, c)); });
}

template <typename Scalar>
Normalization unit_scale_normalization(const PixelMatrix& pixels) {
  if (pixels.size() == 0) throw std::invalid_argument("unit_scale_normalization: no pixels");
  return statistics(pixels.rows(), pixels.cols(), [&](Index r, Index c) {
    return static_cast<double>(Scalar(pixels(r, c)) / Scalar(255));
  });
}

template <typename Scalar>
ByteRows<Scalar> unit_scale_rows(const PixelMatrix& pixels, const Normalization& n) {
  require_std(n);
  return ByteRows<Scalar>(pixels, static_cast<Scalar>(n.mean), static_cast<Scalar>(n.std));
}

template <typename Scalar>
void apply_normalization(MatrixRef<Scalar> x, const Normalization& n) {
  require_std(n);
  const Scalar mean = static_cast<Scalar>(n.mean);
  const Scalar std = static_cast<Scalar>(n.std);
  x = (x.array() - mean) / std;
}

template <typename Scalar>
Normalization normalize_whole_set(MatrixRef<Scalar> x) {
  const Normalization n = compute_normalization<Scalar>(x);
  apply_normalization<Scalar>(x, n);
  return n;
}

template <typename Scalar>
void normalize_fixed(MatrixRef<Scalar> x, const Normalization& n) {
  apply_normalization<Scalar>(x, n);
}

template <typename Scalar>
Normalization normalize_batch(MatrixRef<Scalar> batch) {
  return normalize_whole_set<Scalar>(batch);
}

#define EIGENNET_INSTANTIATE(Scalar)                                                     \
  template Matrix<Scalar> to_unit_scale<Scalar>(const PixelMatrix&);                     \
  template Matrix<Scalar> one_hot<Scalar>(const Labels&, Index);                         \
  template Normalization compute_normalization<Scalar>(const ConstMatrixRef<Scalar>&);   \
  template Normalization unit_scale_normalization<Scalar>(const PixelMatrix&);           \
  template ByteRows<Scalar> unit_scale_rows<Scalar>(const PixelMatrix&, const Normalization&); \
  template void apply_normalization<Scalar>(MatrixRef<Scalar>, const Normalization&);    \
  template Normalization normalize_whole_set<Scalar>(MatrixRef<Scalar>);                 \
  template void normalize_fixed<Scalar>(MatrixRef<Scalar>, const Normalization&);        \
  template Normalization normalize_batch<Scalar>(MatrixRef<Scalar>);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet

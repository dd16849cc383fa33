// Helpers of the GPU tests: the device gate, relative errors, small host networks.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "eigennet/cuda/device.hpp"
#include "eigennet/eigennet.hpp"
#include "support/skip.hpp"

namespace cuda_test {

using namespace eigennet;

// True when a CUDA device answers. Otherwise records the skip (the executable then exits 77).
inline bool device_or_skip() {
  const cuda::DeviceInfo& info = cuda::query_device();
  if (info.available) return true;
  eigennet_test::skip("no CUDA device: " + info.reason);
  return false;
}

// ‖a − b‖ / (‖a‖ + ‖b‖), as the gradient checker measures; 0 when both are zero.
template <typename Scalar>
double relative_error(const Matrix<Scalar>& a, const Matrix<Scalar>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  const double scale = double(a.norm()) + double(b.norm());
  return scale == 0 ? 0.0 : double((a - b).norm()) / scale;
}

// The bar for device against host: float 1e-5 (no TF32), double 1e-12.
template <typename Scalar>
constexpr double tolerance() {
  return sizeof(Scalar) == 4 ? 1e-5 : 1e-12;
}

template <typename Scalar>
Matrix<Scalar> random_matrix(Index rows, Index cols, RandomState& rng, double low = -1, double high = 1) {
  Matrix<Scalar> m(rows, cols);
  rng.fill_uniform(m, low, high);
  return m;
}

inline Labels random_labels(Index n, Index classes, RandomState& rng) {
  Labels labels(n);
  for (Index i = 0; i < n; ++i) labels(i) = static_cast<std::int32_t>(rng.uniform(0, double(classes))) % classes;
  return labels;
}

// Every Dense layer's W drawn uniform(±scale).
template <typename Scalar>
void randomize(Network<Scalar>& net, RandomState& rng, double scale) {
  for (auto& p : net.parameters()) rng.fill_uniform(*p.value, -scale, scale);
}

}  // namespace cuda_test

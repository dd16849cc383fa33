// Seeded random inputs for gradient checks and layer tests: the same seed gives the same values
// (numpy's RandomState). One-hot targets come from the library (eigennet::one_hot).
#pragma once

#include <cstdint>

#include "eigennet/random.hpp"
#include "eigennet/types.hpp"

namespace eigennet_test {

// rows×cols entries drawn from normal(0, std) by RandomState(seed).
template <typename Scalar>
eigennet::Matrix<Scalar> random_matrix(eigennet::Index rows, eigennet::Index cols, std::uint32_t seed,
                                       double std = 1.0) {
  eigennet::Matrix<Scalar> m(rows, cols);
  eigennet::RandomState(seed).fill_normal(m, 0.0, std);
  return m;
}

// n labels drawn from [0, classes) by RandomState(seed).
inline eigennet::Labels random_labels(eigennet::Index n, eigennet::Index classes, std::uint32_t seed) {
  eigennet::Labels labels(n);
  eigennet::RandomState(seed).randint(0, std::int32_t(classes), labels);
  return labels;
}

}  // namespace eigennet_test

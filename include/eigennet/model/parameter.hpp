// A trainable tensor as the optimizer and the gradient checker see it.
#pragma once

#include <string>
#include <vector>

#include "eigennet/types.hpp"

namespace eigennet {

// A view of one trainable tensor. Layers own the matrices; `name` is unique inside a network
// ("layer0.dense.W"), and is the key used in checkpoints.
template <typename Scalar>
struct Parameter {
  std::string name;
  Matrix<Scalar>* value;
  Matrix<Scalar>* gradient;
};

template <typename Scalar>
using ParameterList = std::vector<Parameter<Scalar>>;

}  // namespace eigennet

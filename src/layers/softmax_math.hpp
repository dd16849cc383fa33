// Numerically stable row-wise softmax and log-sum-exp, shared by the Softmax and LogSoftmax
// layers and the fused softmax-cross-entropy loss.
#pragma once

#include <cmath>

#include "eigennet/types.hpp"

namespace eigennet {

// log Σ_j exp(x_j) of one row, computed as m + log Σ_j exp(x_j − m) with m = max_j x_j.
template <typename Scalar, typename RowExpr>
Scalar log_sum_exp(const RowExpr& row) {
  const Scalar m = row.maxCoeff();
  return m + std::log((row.array() - m).exp().sum());
}

// x: N×K → p: N×K, each row exp(x − max) / Σ exp(x − max). p may alias x.
template <typename Scalar>
void softmax_rows(const ConstMatrixRef<Scalar>& x, MatrixRef<Scalar> p) {
  for (Index n = 0; n < x.rows(); ++n) {
    const Scalar m = x.row(n).maxCoeff();
    p.row(n) = (x.row(n).array() - m).exp().matrix();
    p.row(n) /= p.row(n).sum();
  }
}

}  // namespace eigennet

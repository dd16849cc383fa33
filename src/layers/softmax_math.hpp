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

// One row: p = exp(x − m) / Σ exp(x − m), m = max_j x_j; returns log Σ_j exp(x_j) = m + log Σ,
// which the exponentials give for free (the fused softmax-cross-entropy's value). p may alias x.
template <typename Scalar, typename InRow, typename OutRow>
Scalar softmax_row(const InRow& x, OutRow&& p) {
  const Scalar m = x.maxCoeff();
  p = (x.array() - m).exp().matrix();
  const Scalar sum = p.sum();
  p /= sum;
  return m + std::log(sum);
}

// x: N×K → p: N×K, softmax_row of each row. p may alias x.
template <typename Scalar>
void softmax_rows(const ConstMatrixRef<Scalar>& x, MatrixRef<Scalar> p) {
  for (Index n = 0; n < x.rows(); ++n) softmax_row<Scalar>(x.row(n), p.row(n));
}

}  // namespace eigennet

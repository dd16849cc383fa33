// The gradient checker: compares every hand-derived gradient with central differences.
//
// For a tensor θ and a scalar objective f, the numeric gradient of entry i is
//   (f(θ + h e_i) − f(θ − h e_i)) / (2h)
// and a tensor passes when its relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) is below the tolerance.
// A tensor whose analytic gradient is identically zero FAILS: a checker that compares zeros
// with zeros proves nothing. Large tensors are checked on a seeded random sample of entries
// (the report says how many).
//
// Objectives: for a layer, f = Σ R ⊙ layer(X) with a fixed random R (so dY = R); for a loss,
// its value; for a network, the loss of its output. Checked: dL/dθ of every parameter tensor
// and dL/dX.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eigennet/layers/layer.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"

namespace eigennet {

struct GradcheckOptions {
  double step = 0;          // h; 0 picks the default for the scalar type (1e-6 double, 1e-3 float)
  double tolerance = 0;     // 0 picks the default (1e-6 double, 2e-2 float)
  Index max_entries = 200;  // entries checked per tensor; larger tensors are sampled
  std::uint32_t seed = 1;   // inputs, projections and the sample of entries
};

// Defaults for a scalar type, used where the options leave 0.
template <typename Scalar>
double default_gradcheck_step();
template <typename Scalar>
double default_gradcheck_tolerance();

// One checked tensor.
struct GradcheckRow {
  std::string subject;      // "dense 7→5 (+bias)", "network", "softmax_cross_entropy"
  std::string tensor;       // "W", "X", "layer0.dense.W", "output"
  Index rows = 0, cols = 0;
  Index checked = 0;        // entries compared
  Index worst_row = 0, worst_col = 0;  // entry with the largest |analytic − numeric|
  double analytic = 0, numeric = 0;    // at that entry
  double relative_error = 0;           // over the checked entries
  double tolerance = 0;
  bool passed = false;
  std::string problem;      // why it failed, or empty
};

struct GradcheckReport {
  std::vector<GradcheckRow> rows;
  bool passed() const;
  double worst_error() const;
  void append(const GradcheckReport& other);
  // A table, one row per tensor.
  std::string to_string() const;
};

// A single layer at input x (N×input_size).
template <typename Scalar>
GradcheckReport check_layer(Layer<Scalar>& layer, ConstMatrixRef<Scalar> x, const GradcheckOptions& options = {});
// The same at a random input of `batch` rows drawn from normal(0, 1).
template <typename Scalar>
GradcheckReport check_layer(Layer<Scalar>& layer, Index batch, const GradcheckOptions& options = {});

// A loss: dL/d(output) at the given output and target (or labels).
template <typename Scalar>
GradcheckReport check_loss(const Loss<Scalar>& loss, ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                           const GradcheckOptions& options = {});
template <typename Scalar>
GradcheckReport check_loss(const Loss<Scalar>& loss, ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                           const GradcheckOptions& options = {});

// A whole network under a loss: every parameter tensor and dL/dX.
template <typename Scalar>
GradcheckReport check_network(Network<Scalar>& network, ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                              const Loss<Scalar>& loss, const GradcheckOptions& options = {});
template <typename Scalar>
GradcheckReport check_network(Network<Scalar>& network, ConstMatrixRef<Scalar> x, ConstLabelsRef labels,
                              const Loss<Scalar>& loss, const GradcheckOptions& options = {});

}  // namespace eigennet

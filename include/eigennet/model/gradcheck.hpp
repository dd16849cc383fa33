// The gradient checker: compares every hand-derived gradient with central differences.
//
// For a tensor θ and a scalar objective f, the numeric gradient of entry i is
//   (f(θ + h e_i) − f(θ − h e_i)) / (2h)
// and a tensor passes when its relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) is below the tolerance
// plus twice the numeric gradient's own uncertainty: ĝ is also taken at step 2h, and
// ‖ĝ_h − ĝ_2h‖ / (‖g‖ + ‖ĝ‖) measures rounding noise, truncation and kinks crossed (ReLU,
// max-pool), which are no fault of the backward. The report shows that uncertainty, so a
// tensor that central differences cannot resolve is visible as such.
// A tensor whose analytic gradient is identically zero FAILS: a checker that compares zeros
// with zeros proves nothing. Large tensors are checked on a seeded random sample of entries
// (the report says how many).
//
// Objectives: for a layer, f = Σ R ⊙ layer(X) with a fixed random R (so dY = R); for a loss,
// its value; for a network, the loss of its output. Checked: dL/dθ of every parameter tensor
// and dL/dX.
//
// Float subjects are checked in double by default: float central differences carry rounding
// noise of about ε_float·|f|/h (1e-4 for a loss near 2.3 at h = 1e-3), larger than many true
// gradients, so a correct float backward would fail. Instead the subject is promoted to double
// (Layer/Loss/Network::to_double, the same code in double), checked there by central
// differences, and the float backward is held to the double backward at the same point
// (rows "… float vs double"): a backward wrong only in float still fails. Subjects that cannot
// be promoted fall back to float central differences.
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
  bool float_in_double = true;  // float subjects: check the double copy (see above)
  double float_vs_double_tolerance = 1e-4;  // float backward against the double backward
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
  double numeric_uncertainty = 0;      // ‖ĝ_h − ĝ_2h‖ over the same norm (0 for float vs double)
  double tolerance = 0;                // allowed relative error: the option + 2 × uncertainty
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

// Gradients of `network` under `loss` at x computed elsewhere (e.g. by its GPU mirror): dL/dθ in
// parameters() order, and dL/dX.
template <typename Scalar>
struct ExternalGradients {
  std::vector<Matrix<Scalar>> parameters;
  Matrix<Scalar> input;
};

// Checks external gradients twice: against central differences of the network's loss in double
// (rows "<subject>", for float "<subject> (float) in double", held to the float-vs-double
// tolerance unless options.tolerance is set), and against the network's own backward at the
// same point (rows "<subject> vs host", relative error ≤ host_tolerance). Throws
// std::invalid_argument when their count or shapes do not match the network's.
template <typename Scalar>
GradcheckReport check_external_gradients(const std::string& subject, Network<Scalar>& network,
                                         ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss,
                                         const ExternalGradients<Scalar>& gradients, double host_tolerance,
                                         const GradcheckOptions& options = {});
template <typename Scalar>
GradcheckReport check_external_gradients(const std::string& subject, Network<Scalar>& network,
                                         ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                                         const Loss<Scalar>& loss, const ExternalGradients<Scalar>& gradients,
                                         double host_tolerance, const GradcheckOptions& options = {});

// dL/dθ (parameters() order) and dL/dX of a float network at x with its products in bf16
// (gemm/precision.hpp), for check_external_gradients against the float32 backward; the products'
// precision is as before afterwards. Throws std::runtime_error where bf16 cannot run
// (bf16_unavailable_reason()).
ExternalGradients<float> bf16_gradients(Network<float>& network, ConstMatrixRef<float> x, ConstLabelsRef labels,
                                        const Loss<float>& loss);
ExternalGradients<float> bf16_gradients(Network<float>& network, ConstMatrixRef<float> x,
                                        ConstMatrixRef<float> target, const Loss<float>& loss);

}  // namespace eigennet

// gradcheck: proves every hand-derived backward pass of eigennet against central differences.
//
// By default it checks every layer, every loss and a few composed networks (among them the
// notebook's 784→1000→10 MLP at full size, large tensors on a sample of entries), in float and
// double, prints one table row per tensor and exits non-zero if any check fails.
// --device cuda checks the GPU's backward instead: each device layer and loss inside a small
// network, and the device-capable models, against central differences (in double) and against
// the CPU backward at the same point.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "eigennet/cuda/device_training.hpp"
#include "eigennet/eigennet.hpp"
#include "eigennet/data/preprocess.hpp"
#include "dtype.hpp"
#include "precision.hpp"
#include "support/random_data.hpp"

using namespace eigennet;
using eigennet_test::random_labels;
using eigennet_test::random_matrix;

namespace {

// One named check, runnable in either precision. `run` receives a value of the scalar type as a
// tag (float{} or double{}) so one generic lambda serves both.
struct Check {
  std::string category;  // "layer", "loss", "model"
  std::string name;
  std::function<GradcheckReport(float, const GradcheckOptions&)> run_float;
  std::function<GradcheckReport(double, const GradcheckOptions&)> run_double;

  GradcheckReport run(float tag, const GradcheckOptions& o) const { return run_float(tag, o); }
  GradcheckReport run(double tag, const GradcheckOptions& o) const { return run_double(tag, o); }
};

template <typename Body>
Check make_check(std::string category, std::string name, Body body) {
  return {std::move(category), std::move(name), body, body};
}

// Layer checks run at this batch size and these (odd) sizes.
struct Sizes {
  Index batch = 3, in = 7, out = 5;
};

// The notebook's 784→1000 ReLU→10 at full size, weights normal(0, 0.05).
template <typename Scalar>
Network<Scalar> notebook_mlp(std::uint32_t seed) {
  RandomState rng(seed);
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(784, 1000), rng, {InitScheme::Normal, 0, 0.05});
  net.template emplace<Relu<Scalar>>(1000);
  initialize(net.template emplace<Dense<Scalar>>(1000, 10), rng, {InitScheme::Normal, 0, 0.05});
  return net;
}

// 20→16 sigmoid→12 tanh→6 (logits).
template <typename Scalar>
Network<Scalar> sigmoid_tanh_mlp(std::uint32_t seed) {
  RandomState rng(seed);
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(20, 16), rng, {InitScheme::Glorot});
  net.template emplace<Sigmoid<Scalar>>(16);
  initialize(net.template emplace<Dense<Scalar>>(16, 12), rng, {InitScheme::TorchDefault});
  net.template emplace<Tanh<Scalar>>(12);
  initialize(net.template emplace<Dense<Scalar>>(12, 6), rng, {InitScheme::TorchDefault});
  return net;
}

// The products' precision of the model checks: float32, or bf16 (--precision bf16).
GemmPrecision model_products = GemmPrecision::Float32;

// A model's check: its backward against central differences (check_network); with bf16 products,
// the bf16 backward against central differences in double and against the float32 backward, both
// held to kBf16GradientTolerance (gemm/precision.hpp).
template <typename Scalar, typename Target>
GradcheckReport check_model(Network<Scalar>& net, const Matrix<Scalar>& x, const Target& target,
                            const Loss<Scalar>& loss, const GradcheckOptions& o) {
  if (model_products == GemmPrecision::Float32) return check_network<Scalar>(net, x, target, loss, o);
  if constexpr (std::is_same_v<Scalar, float>) {
    GradcheckOptions bf16 = o;
    if (!(bf16.tolerance > 0)) bf16.tolerance = kBf16GradientTolerance;
    return check_external_gradients<float>("bf16", net, x, target, loss, bf16_gradients(net, x, target, loss),
                                           kBf16GradientTolerance, bf16);
  } else {
    throw std::invalid_argument("bf16 products are float32 products: not in a double network");
  }
}

// A layer with weights (Dense, Conv2d) drawn from normal(0, 0.5) by RandomState(seed), checked at
// a random input of `batch` rows.
template <typename Scalar, typename WeightedLayer>
GradcheckReport check_weighted_layer(WeightedLayer&& layer, Index batch, const GradcheckOptions& o) {
  RandomState rng(o.seed);
  initialize(layer, rng, {InitScheme::Normal, 0, 0.5});
  return check_layer<Scalar>(layer, batch, o);
}

// A classification loss at scores (n×k): against the labels' one-hot rows, and against the labels.
template <typename Scalar>
GradcheckReport check_classification_loss(const Loss<Scalar>& loss, const Matrix<Scalar>& scores, const Labels& labels,
                                          const GradcheckOptions& o) {
  GradcheckReport report = check_loss<Scalar>(loss, scores, one_hot<Scalar>(labels, scores.cols()), o);
  report.append(check_loss<Scalar>(loss, scores, labels, o));
  return report;
}

std::vector<Check> all_checks(const Sizes& s) {
  std::vector<Check> checks;
  // ---- layers ----
  checks.push_back(make_check("layer", "dense", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    return check_weighted_layer<Scalar>(Dense<Scalar>(s.in, s.out), s.batch, o);
  }));
  checks.push_back(make_check("layer", "dense-nobias", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    return check_weighted_layer<Scalar>(Dense<Scalar>(s.in, s.out, false), s.batch, o);
  }));
  checks.push_back(make_check("layer", "relu", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Relu<Scalar> layer(s.in);
    // Alternate signs so the mask has both kinds of entries, and stay away from the kink.
    Matrix<Scalar> x = random_matrix<Scalar>(s.batch, s.in, o.seed + 7).cwiseAbs().array() + Scalar(0.05);
    for (Index i = 1; i < x.size(); i += 2) x.data()[i] = -x.data()[i];
    return check_layer<Scalar>(layer, ConstMatrixRef<Scalar>(x), o);
  }));
  checks.push_back(make_check("layer", "sigmoid", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Sigmoid<Scalar> layer(s.in);
    return check_layer<Scalar>(layer, s.batch, o);
  }));
  checks.push_back(make_check("layer", "tanh", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Tanh<Scalar> layer(s.in);
    return check_layer<Scalar>(layer, s.batch, o);
  }));
  checks.push_back(make_check("layer", "softmax", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Softmax<Scalar> layer(s.out);
    return check_layer<Scalar>(layer, s.batch, o);
  }));
  checks.push_back(make_check("layer", "log_softmax", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    LogSoftmax<Scalar> layer(s.out);
    return check_layer<Scalar>(layer, s.batch, o);
  }));
  // Convolutions and pooling on odd-sized images (C×H×W inside each row, see image_shape.hpp).
  checks.push_back(make_check("layer", "conv2d", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    return check_weighted_layer<Scalar>(Conv2d<Scalar>({2, 7, 9}, 3, 3), s.batch, o);  // stride 1, no padding
  }));
  checks.push_back(make_check("layer", "conv2d-s2-p2", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    // 5×3 kernel, stride 2, padding 2
    return check_weighted_layer<Scalar>(Conv2d<Scalar>({3, 9, 7}, 4, 5, 3, 2, 2), s.batch, o);
  }));
  checks.push_back(make_check("layer", "maxpool2d", [s](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    MaxPool2d<Scalar> layer({3, 7, 9}, 3, 2, 1, true);  // ceil_mode: the last windows run past the border
    // Distinct inputs 0.01 apart (a shuffled grid): a step never changes a window's arg-max.
    Matrix<Scalar> x(s.batch, layer.input_size());
    const std::vector<Index> order = RandomState(o.seed + 7).permutation(x.size());
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = Scalar(0.01 * double(order[std::size_t(i)] - x.size() / 2));
    return check_layer<Scalar>(layer, ConstMatrixRef<Scalar>(x), o);
  }));

  // ---- losses (one-hot targets and integer labels) ----
  const Index n = s.batch, k = s.out;
  checks.push_back(make_check("loss", "softmax_cross_entropy", [n, k](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    const Matrix<Scalar> z = random_matrix<Scalar>(n, k, o.seed + 1, 2.0);
    return check_classification_loss<Scalar>(SoftmaxCrossEntropy<Scalar>(), z, random_labels(n, k, o.seed), o);
  }));
  checks.push_back(make_check("loss", "cross_entropy", [n, k](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Matrix<Scalar> p(n, k);
    Softmax<Scalar>(k).forward(random_matrix<Scalar>(n, k, o.seed + 1), p);
    return check_classification_loss<Scalar>(CrossEntropy<Scalar>(), p, random_labels(n, k, o.seed), o);
  }));
  checks.push_back(make_check("loss", "negative_log_likelihood", [n, k](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    Matrix<Scalar> q(n, k);
    LogSoftmax<Scalar>(k).forward(random_matrix<Scalar>(n, k, o.seed + 1), q);
    return check_classification_loss<Scalar>(NegativeLogLikelihood<Scalar>(), q, random_labels(n, k, o.seed), o);
  }));
  checks.push_back(make_check("loss", "squared_error", [n, k](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    SquaredError<Scalar> loss;
    return check_loss<Scalar>(loss, random_matrix<Scalar>(n, k, o.seed), random_matrix<Scalar>(n, k, o.seed + 1), o);
  }));
  checks.push_back(make_check("loss", "mean_squared_error", [n, k](auto tag, const GradcheckOptions& o) {
    using Scalar = decltype(tag);
    MeanSquaredError<Scalar> loss;
    return check_loss<Scalar>(loss, random_matrix<Scalar>(n, k, o.seed), random_matrix<Scalar>(n, k, o.seed + 1), o);
  }));

  // ---- composed networks ----
  checks.push_back(make_check("model", "notebook-mlp", [](auto tag, const GradcheckOptions& o) {
    // Softmax cross-entropy; batch 4.
    using Scalar = decltype(tag);
    Network<Scalar> net = notebook_mlp<Scalar>(o.seed);
    return check_model<Scalar>(net, random_matrix<Scalar>(4, 784, o.seed + 1), random_labels(4, 10, o.seed + 2),
                                 SoftmaxCrossEntropy<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "sigmoid-tanh-mlp", [](auto tag, const GradcheckOptions& o) {
    // Softmax layer + cross-entropy on probabilities; batch 5.
    using Scalar = decltype(tag);
    Network<Scalar> net = sigmoid_tanh_mlp<Scalar>(o.seed);
    net.template emplace<Softmax<Scalar>>(6);
    const Labels labels = random_labels(5, 6, o.seed + 2);
    return check_model<Scalar>(net, random_matrix<Scalar>(5, 20, o.seed + 1), one_hot<Scalar>(labels, 6),
                                 CrossEntropy<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "exercise-mlp", [](auto tag, const GradcheckOptions& o) {
    // 784→16→16→10 ReLU, log-softmax + NLL (the exercise's shape); batch 3.
    using Scalar = decltype(tag);
    RandomState rng(o.seed);
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(784, 16), rng, {InitScheme::Uniform, -0.1, 0.1});
    net.template emplace<Relu<Scalar>>(16);
    initialize(net.template emplace<Dense<Scalar>>(16, 16), rng, {InitScheme::Uniform, -0.5, 0.5});
    net.template emplace<Relu<Scalar>>(16);
    initialize(net.template emplace<Dense<Scalar>>(16, 10), rng, {InitScheme::Uniform, -0.5, 0.5});
    net.template emplace<LogSoftmax<Scalar>>(10);
    return check_model<Scalar>(net, random_matrix<Scalar>(3, 784, o.seed + 1), random_labels(3, 10, o.seed + 2),
                                 NegativeLogLikelihood<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "cosine", [](auto tag, const GradcheckOptions& o) {
    // denoise-cosine's network at full size: 200→10 sigmoid→200 without output bias, summed
    // squared error, input = target = one noisy cosine row, weights normal(0, 0.5) as in the tool.
    using Scalar = decltype(tag);
    const Index n = 200, hidden = 10;
    RandomState rng(o.seed);
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(n, hidden), rng, {InitScheme::Normal, 0, 0.5});
    net.template emplace<Sigmoid<Scalar>>(hidden);
    initialize(net.template emplace<Dense<Scalar>>(hidden, n, false), rng, {InitScheme::Normal, 0, 0.5});
    Matrix<Scalar> x(1, n);
    for (Index i = 0; i < n; ++i)
      x(0, i) = Scalar(std::cos(6 * 3.14159265358979 * double(i) / double(n - 1) - 3 * 3.14159265358979) +
                       rng.normal(0, 1));
    return check_model<Scalar>(net, x, x, SquaredError<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "notebook-cnn", [](auto tag, const GradcheckOptions& o) {
    // The notebook's CNN at full size: conv 5×5 1→10 → ReLU → max-pool 2 (ceil) → dense
    // 1440→10, softmax cross-entropy; batch 2.
    using Scalar = decltype(tag);
    RandomState rng(o.seed);
    Network<Scalar> net;
    auto& conv = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 28, 28}, 10, 5);
    initialize(conv, rng, {InitScheme::Normal, 0, 1.0});  // large pre-activations: few ReLU/pool kinks near a step
    net.template emplace<Relu<Scalar>>(conv.output_size());
    auto& pool = net.template emplace<MaxPool2d<Scalar>>(conv.output_shape(), 2, 2, 0, true);
    initialize(net.template emplace<Dense<Scalar>>(pool.output_size(), 10), rng, {InitScheme::Normal, 0, 0.05});
    return check_model<Scalar>(net, random_matrix<Scalar>(2, 784, o.seed + 1), random_labels(2, 10, o.seed + 2),
                                 SoftmaxCrossEntropy<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "small-cnn", [](auto tag, const GradcheckOptions& o) {
    // Two conv blocks on an odd-sized image: conv 3×3 pad 1 1→4 → ReLU → pool 2 ceil → conv 3×3
    // stride 2 pad 2 4→6 → ReLU → pool 3 stride 2 ceil → dense 24→5; batch 3.
    using Scalar = decltype(tag);
    RandomState rng(o.seed);
    Network<Scalar> net;
    auto& conv1 = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 11, 9}, 4, 3, 1, 1);
    initialize(conv1, rng, {InitScheme::Normal, 0, 1.0});  // large pre-activations: few ReLU/pool kinks near a step
    net.template emplace<Relu<Scalar>>(conv1.output_size());
    auto& pool1 = net.template emplace<MaxPool2d<Scalar>>(conv1.output_shape(), 2, 2, 0, true);
    auto& conv2 = net.template emplace<Conv2d<Scalar>>(pool1.output_shape(), 6, 3, 2, 2);
    initialize(conv2, rng, {InitScheme::Normal, 0, 1.0});
    net.template emplace<Relu<Scalar>>(conv2.output_size());
    auto& pool2 = net.template emplace<MaxPool2d<Scalar>>(conv2.output_shape(), 3, 2, 0, true);
    initialize(net.template emplace<Dense<Scalar>>(pool2.output_size(), 5), rng, {InitScheme::Normal, 0, 0.3});
    return check_model<Scalar>(net, random_matrix<Scalar>(3, conv1.input_size(), o.seed + 1),
                                 random_labels(3, 5, o.seed + 2), SoftmaxCrossEntropy<Scalar>(), o);
  }));
  return checks;
}

// The GPU's backward (--device cuda): small host networks whose device mirrors give the
// gradients (cuda/device_training.hpp), checked by check_external_gradients. Against the host
// backward: float 1e-5, double 1e-12 (no TF32).
template <typename Scalar, typename Target>
GradcheckReport check_on_device(Network<Scalar>& net, const Matrix<Scalar>& x, const Target& target,
                                const Loss<Scalar>& loss, const GradcheckOptions& o) {
  const ExternalGradients<Scalar> g = cuda::device_gradients<Scalar>(net, loss, x, target);
  return check_external_gradients<Scalar>("device", net, x, target, loss, g, sizeof(Scalar) == 4 ? 1e-5 : 1e-12, o);
}

std::vector<Check> device_checks(const Sizes& s) {
  std::vector<Check> checks;
  // A dense layer, then the activation under test (none for "dense"); softmax cross-entropy on labels.
  const auto layer_check = [s](std::string name, auto add_activation) {
    return make_check("layer", std::move(name), [s, add_activation](auto tag, const GradcheckOptions& o) {
      using Scalar = decltype(tag);
      RandomState rng(o.seed);
      Network<Scalar> net;
      initialize(net.template emplace<Dense<Scalar>>(s.in, s.out), rng, {InitScheme::Normal, 0, 0.5});
      add_activation(net, Scalar{});
      return check_on_device<Scalar>(net, random_matrix<Scalar>(s.batch, s.in, o.seed + 1),
                                     random_labels(s.batch, s.out, o.seed + 2), SoftmaxCrossEntropy<Scalar>(), o);
    });
  };
  checks.push_back(layer_check("dense", [](auto&, auto) {}));
  checks.push_back(layer_check("relu", [s](auto& net, auto tag) { net.template emplace<Relu<decltype(tag)>>(s.out); }));
  checks.push_back(
      layer_check("sigmoid", [s](auto& net, auto tag) { net.template emplace<Sigmoid<decltype(tag)>>(s.out); }));
  checks.push_back(layer_check("tanh", [s](auto& net, auto tag) { net.template emplace<Tanh<decltype(tag)>>(s.out); }));
  checks.push_back(make_check("loss", "squared_error", [s](auto tag, const GradcheckOptions& o) {
    // A dense layer without bias under the summed squared error on a target matrix.
    using Scalar = decltype(tag);
    RandomState rng(o.seed);
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(s.in, s.out, false), rng, {InitScheme::Normal, 0, 0.5});
    return check_on_device<Scalar>(net, random_matrix<Scalar>(s.batch, s.in, o.seed + 1),
                                   random_matrix<Scalar>(s.batch, s.out, o.seed + 2), SquaredError<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "notebook-mlp", [](auto tag, const GradcheckOptions& o) {
    // Softmax cross-entropy; batch 4.
    using Scalar = decltype(tag);
    Network<Scalar> net = notebook_mlp<Scalar>(o.seed);
    return check_on_device<Scalar>(net, random_matrix<Scalar>(4, 784, o.seed + 1), random_labels(4, 10, o.seed + 2),
                                   SoftmaxCrossEntropy<Scalar>(), o);
  }));
  checks.push_back(make_check("model", "sigmoid-tanh-mlp", [](auto tag, const GradcheckOptions& o) {
    // Softmax cross-entropy on the logits; batch 5.
    using Scalar = decltype(tag);
    Network<Scalar> net = sigmoid_tanh_mlp<Scalar>(o.seed);
    return check_on_device<Scalar>(net, random_matrix<Scalar>(5, 20, o.seed + 1), random_labels(5, 6, o.seed + 2),
                                   SoftmaxCrossEntropy<Scalar>(), o);
  }));
  return checks;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gradcheck: checks every hand-derived gradient of eigennet (dL/dθ and dL/dX) against central "
               "differences and prints one row per tensor. Exits 1 if any check fails."};
  std::vector<std::string> layers, losses, models;
  std::string dtype = "both";
  GradcheckOptions options;
  Sizes sizes;
  bool list = false;
  std::string device = "cpu";
  app.add_option("--device", device,
                 "cpu: the CPU layers; cuda: the GPU's backward (device layers, losses and models), against central "
                 "differences and the CPU backward")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--layer", layers, "Check only these layers (repeatable); see --list");
  app.add_option("--loss", losses, "Check only these losses (repeatable)");
  app.add_option("--model", models, "Check only these composed networks (repeatable)");
  std::vector<std::string> dtype_choices = tools::dtype_spellings();
  dtype_choices.push_back("both");
  app.add_option("--dtype", dtype, "float, double or both")->check(CLI::IsMember(dtype_choices))
      ->capture_default_str();
  app.add_option("--step", options.step, "Finite-difference step h (default: 1e-6 double, 1e-3 float)");
  app.add_option("--tolerance", options.tolerance, "Largest relative error that passes (default: 1e-6 double, 2e-2 float)");
  app.add_option("--seed", options.seed, "Seed for inputs, weights and the sampled entries")->capture_default_str();
  app.add_option("--max-entries", options.max_entries, "Entries checked per tensor (larger tensors are sampled)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", sizes.batch, "Batch size of the layer and loss checks")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--in", sizes.in, "Input width of the layer checks")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--out", sizes.out, "Output width of the layer checks (classes of the loss checks)")
      ->check(CLI::Range(2, 1 << 20))->capture_default_str();
  std::string precision = "float32";
  app.add_option("--precision", precision,
                 "bf16: the model checks with their products in bf16 (float networks), against central differences "
                 "and the float32 backward; exits 77 where this build or CPU has no bf16")
      ->check(CLI::IsMember(tools::precision_spellings()))
      ->capture_default_str();
  app.add_flag("--list", list, "List the available checks and exit");
  CLI11_PARSE(app, argc, argv);
  if (parse_gemm_precision(precision) == GemmPrecision::Bf16) {
    if (device != "cpu" || (dtype != "both" && tools::parse_dtype(dtype) != tools::Dtype::Float) ||
        !layers.empty() || !losses.empty()) {
      std::cerr << "gradcheck: --precision bf16 checks the float models on the CPU (--model, --dtype float)\n";
      return 2;
    }
    const std::string why = bf16_unavailable_reason();
    if (!why.empty()) {
      std::cerr << "gradcheck: --precision bf16 is not available here: " << why << "\n";
      return 77;
    }
    model_products = GemmPrecision::Bf16;
    dtype = "float";
  }

  const std::vector<Check> checks = device == "cuda" ? device_checks(sizes) : all_checks(sizes);
  if (list) {
    for (const auto& c : checks) std::cout << c.category << "  " << c.name << "\n";
    return 0;
  }
  // Unknown names are errors, not silently empty selections.
  for (const auto* selection : {&layers, &losses, &models})
    for (const auto& name : *selection) {
      bool known = false;
      for (const auto& c : checks) known = known || c.name == name;
      if (!known) {
        std::cerr << "gradcheck: unknown check '" << name << "' (see --list)\n";
        return 2;
      }
    }
  if (device == "cuda" && !cuda::query_device().available) {
    std::cerr << "gradcheck: --device cuda: no GPU: " << cuda::query_device().reason << "\n";
    return 2;
  }
  const bool select_all = layers.empty() && losses.empty() && models.empty();
  auto selected = [&](const Check& c) {
    if (model_products == GemmPrecision::Bf16 && c.category != "model") return false;  // bf16: the models
    if (select_all) return true;
    const auto& list_for = c.category == "layer" ? layers : c.category == "loss" ? losses : models;
    return std::find(list_for.begin(), list_for.end(), c.name) != list_for.end();
  };

  GradcheckReport all;
  for (const tools::Dtype precision : {tools::Dtype::Double, tools::Dtype::Float}) {
    if (dtype != "both" && tools::parse_dtype(dtype) != precision) continue;
    GradcheckReport report;
    for (const auto& c : checks) {
      if (!selected(c)) continue;
      try {
        GradcheckReport one = tools::with_dtype(precision, [&](auto tag) { return c.run(tag, options); });
        if (c.category == "model")
          for (auto& row : one.rows) row.subject = "model " + c.name;
        report.append(one);
      } catch (const std::exception& e) {
        std::cerr << "gradcheck: " << c.name << " (" << tools::dtype_name(precision) << "): " << e.what() << "\n";
        return 2;
      }
    }
    std::cout << "== " << tools::dtype_name(precision) << " ==\n" << report.to_string() << "\n";
    all.append(report);
  }
  Index failed = 0;
  for (const auto& row : all.rows) failed += row.passed ? 0 : 1;
  std::printf("%lld tensors checked, %lld failed; worst relative error %.2e\n", static_cast<long long>(all.rows.size()),
              static_cast<long long>(failed), all.worst_error());
  if (!all.passed()) {
    std::printf("GRADCHECK FAILED\n");
    return 1;
  }
  std::printf("all gradients agree\n");
  return 0;
}

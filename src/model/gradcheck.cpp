#include "eigennet/model/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <type_traits>
#include <sstream>

#include "eigennet/gemm/precision.hpp"
#include "eigennet/random.hpp"

namespace eigennet {

template <>
double default_gradcheck_step<double>() { return 1e-6; }
template <>
double default_gradcheck_step<float>() { return 1e-3; }
template <>
double default_gradcheck_tolerance<double>() { return 1e-6; }
template <>
double default_gradcheck_tolerance<float>() { return 2e-2; }

namespace {

template <typename Scalar>
struct Settings {
  double step, tolerance;
  Index max_entries;
  std::uint32_t seed;
};

template <typename Scalar>
Settings<Scalar> settings_from(const GradcheckOptions& o) {
  return {o.step > 0 ? o.step : default_gradcheck_step<Scalar>(),
          o.tolerance > 0 ? o.tolerance : default_gradcheck_tolerance<Scalar>(), o.max_entries, o.seed};
}

// Which entries of a tensor of `size` entries to check: all of them, or a seeded sample.
std::vector<Index> entries_to_check(Index size, Index max_entries, RandomState& rng) {
  std::vector<Index> entries;
  if (size <= max_entries) {
    for (Index i = 0; i < size; ++i) entries.push_back(i);
  } else {
    for (Index i = 0; i < max_entries; ++i) entries.push_back(Index(rng.random_interval(std::uint64_t(size - 1))));
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  }
  return entries;
}

// Above this relative uncertainty the numeric gradient cannot tell a right backward from one a
// few percent off: the row is reported as unresolved (not passed) instead of judged.
constexpr double kMaxNumericUncertainty = 0.01;

// Pass or fail, and why: an analytic gradient with NaN/Inf or identically zero fails whatever
// it is compared with; then the reference must be finite and the relative error in tolerance.
void judge(GradcheckRow& row, bool analytic_finite, bool analytic_zero, const char* reference) {
  if (!analytic_finite) {
    row.problem = "analytic gradient has NaN/Inf";
  } else if (analytic_zero) {
    row.problem = "analytic gradient is identically zero";
  } else if (!std::isfinite(row.relative_error)) {
    row.problem = std::string(reference) + " gradient has NaN/Inf";
  } else if (row.numeric_uncertainty > kMaxNumericUncertainty) {
    char text[160];
    std::snprintf(text, sizeof text, "unresolved: central differences carry %.0e relative noise here (check in double)",
                  row.numeric_uncertainty);
    row.problem = text;
  } else if (row.relative_error > row.tolerance) {
    row.problem = "relative error above tolerance";
  }
  row.passed = row.problem.empty();
}

// Compares `analytic` (same shape as `tensor`) with central differences of `objective`,
// perturbing `tensor` in place (and restoring it).
template <typename Scalar>
GradcheckRow check_tensor(const std::string& subject, const std::string& name, Matrix<Scalar>& tensor,
                          const Matrix<Scalar>& analytic, const std::function<double()>& objective,
                          const Settings<Scalar>& settings, RandomState& rng) {
  GradcheckRow row;
  row.subject = subject;
  row.tensor = name;
  row.rows = tensor.rows();
  row.cols = tensor.cols();
  row.tolerance = settings.tolerance;

  // Central difference of the objective in entry (r, c) at step h. Divides by the step actually
  // taken (in float, saved ± h is rounded).
  const auto central_difference = [&](Index r, Index c, double h) {
    const Scalar saved = tensor(r, c);
    const Scalar plus = Scalar(double(saved) + h), minus = Scalar(double(saved) - h);
    tensor(r, c) = plus;
    const double f_plus = objective();
    tensor(r, c) = minus;
    const double f_minus = objective();
    tensor(r, c) = saved;
    return (f_plus - f_minus) / (double(plus) - double(minus));
  };

  double diff_sq = 0, analytic_sq = 0, numeric_sq = 0, uncertainty_sq = 0, worst = -1;
  for (Index flat : entries_to_check(tensor.size(), settings.max_entries, rng)) {
    const Index r = flat / tensor.cols(), c = flat % tensor.cols();
    const double numeric = central_difference(r, c, settings.step);
    // How far the numeric value itself can be trusted: the same difference at twice the step.
    // They differ by rounding noise (∝ 1/h), truncation (∝ h²) and any kink (ReLU, max-pool)
    // that one step crosses and the other does not; the error of `numeric` is of that size.
    const double uncertainty = numeric - central_difference(r, c, 2 * settings.step);
    const double a = double(analytic(r, c));
    const double d = a - numeric;
    diff_sq += d * d;
    uncertainty_sq += uncertainty * uncertainty;
    analytic_sq += a * a;
    numeric_sq += numeric * numeric;
    ++row.checked;
    if (!std::isfinite(d) || std::abs(d) > worst) {
      worst = std::isfinite(d) ? std::abs(d) : INFINITY;
      row.worst_row = r;
      row.worst_col = c;
      row.analytic = a;
      row.numeric = numeric;
    }
  }
  const double denominator = std::sqrt(analytic_sq) + std::sqrt(numeric_sq);
  row.relative_error = denominator > 0 ? std::sqrt(diff_sq) / denominator : 0.0;
  row.numeric_uncertainty = denominator > 0 ? std::sqrt(uncertainty_sq) / denominator : 0.0;
  row.tolerance = settings.tolerance + 2 * row.numeric_uncertainty;
  judge(row, analytic.allFinite(), analytic.isZero(0), "numeric");
  return row;
}

// A backward against another one at the same point (the double backward of a float subject's
// promoted copy, or the host's backward of a device gradient), over every entry: relative error
// ‖g − g_ref‖ / (‖g‖ + ‖g_ref‖).
template <typename Scalar, typename Reference>
GradcheckRow compare_backwards(const std::string& subject, const std::string& name, const Matrix<Scalar>& analytic,
                               const Matrix<Reference>& reference_in, double tolerance, const char* reference_name) {
  GradcheckRow row;
  row.subject = subject;
  row.tensor = name;
  row.rows = analytic.rows();
  row.cols = analytic.cols();
  row.checked = analytic.size();
  row.tolerance = tolerance;
  const Matrix<double> a = analytic.template cast<double>();
  const Matrix<double> reference = reference_in.template cast<double>();
  const Matrix<double> difference = a - reference;
  Index r = 0, c = 0;
  difference.cwiseAbs().maxCoeff(&r, &c);
  row.worst_row = r;
  row.worst_col = c;
  row.analytic = a(r, c);
  row.numeric = reference(r, c);
  const double denominator = a.norm() + reference.norm();
  row.relative_error = denominator > 0 ? difference.norm() / denominator : 0.0;
  judge(row, analytic.allFinite(), analytic.isZero(0), reference_name);
  return row;
}

GradcheckRow compare_with_double(const std::string& subject, const std::string& name, const Matrix<float>& analytic,
                                 const Matrix<double>& reference, double tolerance) {
  return compare_backwards(subject + " float vs double", name, analytic, reference, tolerance, "double backward");
}

// Σ R ⊙ Y accumulated in double.
template <typename Scalar>
double projected_sum(const Matrix<Scalar>& r, const Matrix<Scalar>& y) {
  return (r.template cast<double>().array() * y.template cast<double>().array()).sum();
}

}  // namespace

bool GradcheckReport::passed() const {
  return !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const GradcheckRow& r) { return r.passed; });
}

double GradcheckReport::worst_error() const {
  double worst = 0;
  for (const auto& r : rows) worst = std::max(worst, r.relative_error);
  return worst;
}

void GradcheckReport::append(const GradcheckReport& other) {
  rows.insert(rows.end(), other.rows.begin(), other.rows.end());
}

namespace {

// Display columns of UTF-8 text ("→" and "×" count as one column).
std::size_t columns_of(const std::string& text) {
  std::size_t columns = 0;
  for (unsigned char ch : text) columns += (ch & 0xC0) != 0x80;
  return columns;
}

// Pads to `width` display columns.
std::string padded(const std::string& text, std::size_t width) {
  const std::size_t columns = columns_of(text);
  return text + std::string(columns < width ? width - columns : 0, ' ');
}

}  // namespace

std::string GradcheckReport::to_string() const {
  std::ostringstream out;
  char numbers[256];
  std::size_t subject_width = 34;  // widened to the longest subject, so the columns line up
  for (const auto& r : rows) subject_width = std::max(subject_width, columns_of(r.subject));
  out << padded("subject", subject_width) << ' ' << padded("tensor", 22) << ' ' << padded("shape", 11) << ' '
      << padded("checked", 8) << padded("worst at", 12);
  std::snprintf(numbers, sizeof numbers, "%13s %13s %10s %9s %8s  %s\n", "analytic", "numeric", "rel.error",
                "num.noise", "tol", "result");
  out << numbers;
  for (const auto& r : rows) {
    const std::string shape = std::to_string(r.rows) + "×" + std::to_string(r.cols);
    const std::string at = "(" + std::to_string(r.worst_row) + "," + std::to_string(r.worst_col) + ")";
    out << padded(r.subject, subject_width) << ' ' << padded(r.tensor, 22) << ' ' << padded(shape, 11) << ' '
        << padded(std::to_string(r.checked), 8) << padded(at, 12);
    std::snprintf(numbers, sizeof numbers, "%13.6e %13.6e %10.2e %9.1e %8.1e  %s\n", r.analytic, r.numeric,
                  r.relative_error, r.numeric_uncertainty, r.tolerance,
                  r.passed ? "PASS" : ("FAIL: " + r.problem).c_str());
    out << numbers;
  }
  return out.str();
}

namespace {

template <typename Scalar>
GradcheckReport check_layer_by_differences(Layer<Scalar>& layer, ConstMatrixRef<Scalar> x_in,
                                           const GradcheckOptions& options) {
  const auto settings = settings_from<Scalar>(options);
  RandomState rng(settings.seed);
  const Index n = x_in.rows();
  Matrix<Scalar> x = x_in;
  Matrix<Scalar> y(n, layer.output_size()), projection(n, layer.output_size()), dx(n, layer.input_size());
  rng.fill_normal(projection, 0.0, 1.0);
  layer.reserve(n);

  // Analytic gradients at the unperturbed point.
  layer.forward(x, y);
  layer.backward(x, y, projection, dx, true);
  auto parameters = layer.parameters();
  std::vector<Matrix<Scalar>> analytic;
  for (auto& p : parameters) analytic.push_back(*p.gradient);

  const std::function<double()> objective = [&] {
    layer.forward(x, y);
    return projected_sum(projection, y);
  };
  GradcheckReport report;
  for (std::size_t i = 0; i < parameters.size(); ++i)
    report.rows.push_back(check_tensor(layer.describe(), parameters[i].name, *parameters[i].value, analytic[i],
                                       objective, settings, rng));
  report.rows.push_back(check_tensor(layer.describe(), std::string("X"), x, dx, objective, settings, rng));
  return report;
}

}  // namespace

template <typename Scalar>
GradcheckReport check_layer(Layer<Scalar>& layer, Index batch, const GradcheckOptions& options) {
  RandomState rng(options.seed + 1000u);
  Matrix<Scalar> x(batch, layer.input_size());
  rng.fill_normal(x, 0.0, 1.0);
  return check_layer<Scalar>(layer, ConstMatrixRef<Scalar>(x), options);
}

namespace {

// dL/d(output) of a loss whose value and gradient are given as callables.
template <typename Scalar>
GradcheckReport check_loss_impl(const std::string& name, ConstMatrixRef<Scalar> output_in,
                                const std::function<Scalar(const Matrix<Scalar>&)>& value,
                                const std::function<void(const Matrix<Scalar>&, Matrix<Scalar>&)>& gradient,
                                const GradcheckOptions& options) {
  const auto settings = settings_from<Scalar>(options);
  RandomState rng(settings.seed);
  Matrix<Scalar> output = output_in;
  Matrix<Scalar> analytic(output.rows(), output.cols());
  gradient(output, analytic);
  GradcheckReport report;
  report.rows.push_back(check_tensor(name, std::string("output"), output, analytic,
                                     std::function<double()>([&] { return double(value(output)); }), settings, rng));
  return report;
}

// Every parameter of the network and dL/dX, the loss given as callables on the output.
template <typename Scalar>
GradcheckReport check_network_impl(Network<Scalar>& network, ConstMatrixRef<Scalar> x_in,
                                   const std::function<Scalar(ConstMatrixRef<Scalar>)>& loss_value,
                                   const std::function<Scalar(const Matrix<Scalar>&)>& forward_backward,
                                   const GradcheckOptions& options) {
  const auto settings = settings_from<Scalar>(options);
  RandomState rng(settings.seed);
  Matrix<Scalar> x = x_in;
  forward_backward(x);
  auto parameters = network.parameters();
  std::vector<Matrix<Scalar>> analytic;
  for (auto& p : parameters) analytic.push_back(*p.gradient);
  const Matrix<Scalar> dx = network.input_gradient();

  const std::function<double()> objective = [&] { return double(loss_value(network.forward(x))); };
  GradcheckReport report;
  for (std::size_t i = 0; i < parameters.size(); ++i)
    report.rows.push_back(
        check_tensor(std::string("network"), parameters[i].name, *parameters[i].value, analytic[i], objective, settings, rng));
  report.rows.push_back(check_tensor(std::string("network"), std::string("X"), x, dx, objective, settings, rng));
  return report;
}

}  // namespace

namespace {

// The double copy of a float subject, or nullptr where it has no to_double().
template <typename Subject>
auto promoted(const Subject& subject) -> decltype(subject.to_double()) {
  try {
    return subject.to_double();
  } catch (const std::logic_error&) {
    return nullptr;
  }
}

// Float-vs-double rows for every parameter gradient and for dL/dX, after both backwards ran at
// the same point.
void append_float_vs_double(GradcheckReport& report, const std::string& subject, const ParameterList<float>& parameters,
                            const ParameterList<double>& parameters64, const Matrix<float>& dx,
                            const Matrix<double>& dx64, double tolerance) {
  for (std::size_t i = 0; i < parameters.size(); ++i)
    report.rows.push_back(
        compare_with_double(subject, parameters[i].name, *parameters[i].gradient, *parameters64[i].gradient, tolerance));
  report.rows.push_back(compare_with_double(subject, "X", dx, dx64, tolerance));
}

// Rows of a check made on the double copy say so.
GradcheckReport in_double(GradcheckReport report) {
  for (GradcheckRow& row : report.rows) row.subject += " in double";
  return report;
}

// Targets of the double copy: a target matrix cast to double, labels as they are.
Matrix<double> double_target(const Matrix<float>& target) { return target.cast<double>(); }
const Labels& double_target(const Labels& labels) { return labels; }
const Matrix<double>& double_target(const Matrix<double>& target) { return target; }

template <typename Scalar, typename Target>
GradcheckReport check_loss_any(const Loss<Scalar>& loss, ConstMatrixRef<Scalar> output, const Target& target,
                               const GradcheckOptions& options) {
  const std::string name = loss.name() + (std::is_same_v<Target, Labels> ? " (labels)" : "");
  if constexpr (std::is_same_v<Scalar, float>) {
    const auto loss64 = options.float_in_double ? promoted(loss) : nullptr;
    if (loss64) {
      const Matrix<double> output64 = output.template cast<double>();
      const auto target64 = double_target(target);
      GradcheckReport report = in_double(check_loss_any<double>(*loss64, output64, target64, options));
      Matrix<float> gradient(output.rows(), output.cols());
      Matrix<double> gradient64(output.rows(), output.cols());
      if constexpr (std::is_same_v<Target, Labels>) {
        loss.gradient_labels(output, target, gradient);
        loss64->gradient_labels(output64, target64, gradient64);
      } else {
        loss.gradient(output, target, gradient);
        loss64->gradient(output64, target64, gradient64);
      }
      report.rows.push_back(
          compare_with_double(name, "output", gradient, gradient64, options.float_vs_double_tolerance));
      return report;
    }
  }
  if constexpr (std::is_same_v<Target, Labels>) {
    return check_loss_impl<Scalar>(
        name, output, [&](const Matrix<Scalar>& o) { return loss.value_labels(o, target); },
        [&](const Matrix<Scalar>& o, Matrix<Scalar>& g) { loss.gradient_labels(o, target, g); }, options);
  } else {
    return check_loss_impl<Scalar>(
        name, output, [&](const Matrix<Scalar>& o) { return loss.value(o, target); },
        [&](const Matrix<Scalar>& o, Matrix<Scalar>& g) { loss.gradient(o, target, g); }, options);
  }
}

template <typename Scalar, typename Target>
GradcheckReport check_network_any(Network<Scalar>& network, ConstMatrixRef<Scalar> x, const Target& target,
                                  const Loss<Scalar>& loss, const GradcheckOptions& options) {
  if constexpr (std::is_same_v<Scalar, float>) {
    if (options.float_in_double) {
      const auto loss64 = promoted(loss);
      std::optional<Network<double>> network64;
      try {
        if (loss64) network64 = network.to_double();
      } catch (const std::logic_error&) {  // a layer without to_double()
      }
      if (network64) {
        const Matrix<double> x64 = x.template cast<double>();
        const auto target64 = double_target(target);
        GradcheckReport report = in_double(check_network_any<double>(*network64, x64, target64, *loss64, options));
        // Both backwards at the same point.
        network.forward_backward(x, target, loss, true);
        network64->forward_backward(x64, target64, *loss64, true);
        append_float_vs_double(report, "network", network.parameters(), network64->parameters(),
                               network.input_gradient(), network64->input_gradient(), options.float_vs_double_tolerance);
        return report;
      }
    }
  }
  return check_network_impl<Scalar>(
      network, x, [&](ConstMatrixRef<Scalar> out) {
        if constexpr (std::is_same_v<Target, Labels>) return loss.value_labels(out, target);
        else return loss.value(out, target);
      },
      [&](const Matrix<Scalar>& in) { return network.forward_backward(in, target, loss, true); }, options);
}

template <typename Scalar, typename Target>
GradcheckReport check_external_any(const std::string& subject, Network<Scalar>& network, ConstMatrixRef<Scalar> x,
                                   const Target& target, const Loss<Scalar>& loss, const ExternalGradients<Scalar>& g,
                                   double host_tolerance, const GradcheckOptions& options) {
  ParameterList<Scalar> parameters = network.parameters();
  if (g.parameters.size() != parameters.size())
    throw std::invalid_argument("gradcheck: " + subject + " gave " + std::to_string(g.parameters.size()) +
                                " parameter gradients for a network with " + std::to_string(parameters.size()));
  for (std::size_t i = 0; i < parameters.size(); ++i)
    require_shape(g.parameters[i], parameters[i].value->rows(), parameters[i].value->cols(),
                  [&] { return "gradcheck: " + subject + " gradient of " + parameters[i].name; });
  require_shape(g.input, x.rows(), x.cols(), [&] { return "gradcheck: " + subject + " dL/dX"; });

  // 1. Against central differences of the network's loss, in double (a float network through
  //    its double copy, the float gradients held to the float-vs-double tolerance).
  std::optional<Network<double>> copy64;
  std::unique_ptr<Loss<double>> loss_copy64;
  Network<double>* network_in_double = nullptr;
  const Loss<double>* loss_in_double = nullptr;
  if constexpr (std::is_same_v<Scalar, float>) {
    copy64 = network.to_double();
    loss_copy64 = loss.to_double();
    network_in_double = &*copy64;
    loss_in_double = loss_copy64.get();
  } else {
    network_in_double = &network;
    loss_in_double = &loss;
  }
  Network<double>& network64 = *network_in_double;
  const Loss<double>& loss64 = *loss_in_double;
  auto settings = settings_from<double>(options);
  if (std::is_same_v<Scalar, float> && !(options.tolerance > 0)) settings.tolerance = options.float_vs_double_tolerance;
  RandomState rng(settings.seed);
  Matrix<double> x64 = x.template cast<double>();
  const auto target64 = double_target(target);
  const std::function<double()> objective = [&] {
    const Matrix<double> out = network64.forward(x64);
    if constexpr (std::is_same_v<Target, Labels>) return double(loss64.value_labels(out, target64));
    else return double(loss64.value(out, target64));
  };
  const std::string numeric_subject = subject + (std::is_same_v<Scalar, float> ? " (float) in double" : "");
  ParameterList<double> parameters64 = network64.parameters();
  GradcheckReport report;
  for (std::size_t i = 0; i < parameters64.size(); ++i)
    report.rows.push_back(check_tensor(numeric_subject, parameters64[i].name, *parameters64[i].value,
                                       Matrix<double>(g.parameters[i].template cast<double>()), objective, settings,
                                       rng));
  report.rows.push_back(check_tensor(numeric_subject, std::string("X"), x64, Matrix<double>(g.input.template cast<double>()),
                                     objective, settings, rng));

  // 2. Against the network's own backward at the same point, in the same precision.
  network.forward_backward(x, target, loss, true);
  for (std::size_t i = 0; i < parameters.size(); ++i)
    report.rows.push_back(compare_backwards(subject + " vs host", parameters[i].name, g.parameters[i],
                                            *parameters[i].gradient, host_tolerance, "host backward"));
  report.rows.push_back(compare_backwards(subject + " vs host", std::string("X"), g.input,
                                          Matrix<Scalar>(network.input_gradient()), host_tolerance, "host backward"));
  return report;
}

}  // namespace

template <typename Scalar>
GradcheckReport check_external_gradients(const std::string& subject, Network<Scalar>& network,
                                         ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss,
                                         const ExternalGradients<Scalar>& gradients, double host_tolerance,
                                         const GradcheckOptions& options) {
  return check_external_any<Scalar>(subject, network, x, Labels(labels), loss, gradients, host_tolerance, options);
}

template <typename Scalar>
GradcheckReport check_external_gradients(const std::string& subject, Network<Scalar>& network,
                                         ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                                         const Loss<Scalar>& loss, const ExternalGradients<Scalar>& gradients,
                                         double host_tolerance, const GradcheckOptions& options) {
  return check_external_any<Scalar>(subject, network, x, Matrix<Scalar>(target), loss, gradients, host_tolerance,
                                    options);
}

template <typename Scalar>
GradcheckReport check_layer(Layer<Scalar>& layer, ConstMatrixRef<Scalar> x, const GradcheckOptions& options) {
  if constexpr (std::is_same_v<Scalar, float>) {
    const auto layer64 = options.float_in_double ? promoted(layer) : nullptr;
    if (layer64) {
      const Matrix<double> x64 = x.template cast<double>();
      GradcheckReport report = in_double(check_layer_by_differences<double>(*layer64, x64, options));
      // Both backwards at the same point, with the same dY.
      const Index n = x.rows();
      RandomState rng(options.seed);
      Matrix<double> dy64(n, layer.output_size()), y64(n, layer.output_size()), dx64(n, layer.input_size());
      rng.fill_normal(dy64, 0.0, 1.0);
      const Matrix<float> dy = dy64.cast<float>();
      Matrix<float> y(n, layer.output_size()), dx(n, layer.input_size());
      layer.reserve(n);
      layer64->reserve(n);
      layer.forward(x, y);
      layer.backward(x, y, dy, dx, true);
      layer64->forward(x64, y64);
      layer64->backward(x64, y64, dy.cast<double>(), dx64, true);
      append_float_vs_double(report, layer.describe(), layer.parameters(), layer64->parameters(), dx, dx64,
                             options.float_vs_double_tolerance);
      return report;
    }
  }
  return check_layer_by_differences<Scalar>(layer, x, options);
}

template <typename Scalar>
GradcheckReport check_loss(const Loss<Scalar>& loss, ConstMatrixRef<Scalar> output, ConstMatrixRef<Scalar> target,
                           const GradcheckOptions& options) {
  return check_loss_any<Scalar>(loss, output, Matrix<Scalar>(target), options);
}

template <typename Scalar>
GradcheckReport check_loss(const Loss<Scalar>& loss, ConstMatrixRef<Scalar> output, ConstLabelsRef labels,
                           const GradcheckOptions& options) {
  return check_loss_any<Scalar>(loss, output, Labels(labels), options);
}

template <typename Scalar>
GradcheckReport check_network(Network<Scalar>& network, ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                              const Loss<Scalar>& loss, const GradcheckOptions& options) {
  return check_network_any<Scalar>(network, x, Matrix<Scalar>(target), loss, options);
}

template <typename Scalar>
GradcheckReport check_network(Network<Scalar>& network, ConstMatrixRef<Scalar> x, ConstLabelsRef labels,
                              const Loss<Scalar>& loss, const GradcheckOptions& options) {
  return check_network_any<Scalar>(network, x, Labels(labels), loss, options);
}

namespace {

template <typename Target>
ExternalGradients<float> bf16_gradients_any(Network<float>& network, ConstMatrixRef<float> x, const Target& target,
                                            const Loss<float>& loss) {
  {
    const GemmPrecisionScope bf16(GemmPrecision::Bf16);
    network.forward_backward(x, target, loss, true);
  }
  ExternalGradients<float> g;
  for (const auto& p : network.parameters()) g.parameters.push_back(*p.gradient);
  g.input = network.input_gradient();
  return g;
}

}  // namespace

ExternalGradients<float> bf16_gradients(Network<float>& network, ConstMatrixRef<float> x, ConstLabelsRef labels,
                                        const Loss<float>& loss) {
  return bf16_gradients_any(network, x, labels, loss);
}
ExternalGradients<float> bf16_gradients(Network<float>& network, ConstMatrixRef<float> x,
                                        ConstMatrixRef<float> target, const Loss<float>& loss) {
  return bf16_gradients_any(network, x, target, loss);
}

#define EIGENNET_INSTANTIATE(Scalar)                                                                                \
  template GradcheckReport check_layer<Scalar>(Layer<Scalar>&, ConstMatrixRef<Scalar>, const GradcheckOptions&);    \
  template GradcheckReport check_layer<Scalar>(Layer<Scalar>&, Index, const GradcheckOptions&);                     \
  template GradcheckReport check_loss<Scalar>(const Loss<Scalar>&, ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>, \
                                              const GradcheckOptions&);                                             \
  template GradcheckReport check_loss<Scalar>(const Loss<Scalar>&, ConstMatrixRef<Scalar>, ConstLabelsRef,         \
                                              const GradcheckOptions&);                                             \
  template GradcheckReport check_network<Scalar>(Network<Scalar>&, ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>, \
                                                 const Loss<Scalar>&, const GradcheckOptions&);                     \
  template GradcheckReport check_network<Scalar>(Network<Scalar>&, ConstMatrixRef<Scalar>, ConstLabelsRef,         \
                                                 const Loss<Scalar>&, const GradcheckOptions&);                     \
  template GradcheckReport check_external_gradients<Scalar>(const std::string&, Network<Scalar>&,                   \
                                                            ConstMatrixRef<Scalar>, ConstLabelsRef,                 \
                                                            const Loss<Scalar>&, const ExternalGradients<Scalar>&,  \
                                                            double, const GradcheckOptions&);                       \
  template GradcheckReport check_external_gradients<Scalar>(const std::string&, Network<Scalar>&,                   \
                                                            ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>,         \
                                                            const Loss<Scalar>&, const ExternalGradients<Scalar>&,  \
                                                            double, const GradcheckOptions&);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet

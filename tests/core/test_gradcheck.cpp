// Every layer and loss against central differences, in float and double, over several
// shapes (N = 1 and odd sizes); whole networks; and negative controls that must FAIL.
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>

#include "eigennet/eigennet.hpp"
#include "eigennet/data/preprocess.hpp"
#include "support/random_data.hpp"

using namespace eigennet;
using eigennet_test::random_labels;
using eigennet_test::random_matrix;

namespace {

template <typename Scalar>
void require_pass(const GradcheckReport& report) {
  INFO(report.to_string());
  CHECK(report.passed());
  CHECK(report.rows.size() > 0);
}

struct Shape {
  Index batch, in, out;
};
const Shape shapes[] = {{1, 1, 1}, {1, 5, 3}, {3, 7, 5}, {4, 13, 9}, {6, 33, 17}};

}  // namespace

TEST_CASE_TEMPLATE("dense: dW (bias row included) and dX", Scalar, float, double) {
  for (const Shape& s : shapes)
    for (bool bias : {true, false}) {
      CAPTURE(s.batch);
      CAPTURE(s.in);
      CAPTURE(bias);
      Dense<Scalar> dense(s.in, s.out, bias);
      RandomState rng(7);
      rng.fill_normal(dense.weights(), 0, 0.5);
      require_pass<Scalar>(check_layer<Scalar>(dense, s.batch));
    }
}

TEST_CASE_TEMPLATE("activations: dX", Scalar, float, double) {
  for (const Shape& s : shapes) {
    CAPTURE(s.batch);
    CAPTURE(s.in);
    Relu<Scalar> relu(s.in);
    Sigmoid<Scalar> sigmoid(s.in);
    Tanh<Scalar> tanh_layer(s.in);
    Softmax<Scalar> softmax(s.in);
    LogSoftmax<Scalar> log_softmax(s.in);
    // ReLU's input alternates in sign (first entry positive), so its mask is never all zero.
    Matrix<Scalar> mixed = random_matrix<Scalar>(s.batch, s.in, 12).cwiseAbs();
    for (Index i = 1; i < mixed.size(); i += 2) mixed.data()[i] = -mixed.data()[i];
    require_pass<Scalar>(check_layer<Scalar>(relu, ConstMatrixRef<Scalar>(mixed)));
    require_pass<Scalar>(check_layer<Scalar>(sigmoid, s.batch));
    require_pass<Scalar>(check_layer<Scalar>(tanh_layer, s.batch));
    if (s.in > 1) {  // a 1-wide softmax is constant: its gradient is truly zero
      require_pass<Scalar>(check_layer<Scalar>(softmax, s.batch));
      require_pass<Scalar>(check_layer<Scalar>(log_softmax, s.batch));
    }
  }
}

TEST_CASE_TEMPLATE("losses: dL/d(output), one-hot and integer labels", Scalar, float, double) {
  for (const Shape& s : shapes) {
    if (s.out < 2) continue;
    CAPTURE(s.batch);
    CAPTURE(s.out);
    const Labels labels = random_labels(s.batch, s.out, 5);
    const Matrix<Scalar> y = one_hot<Scalar>(labels, s.out);
    const Matrix<Scalar> logits = random_matrix<Scalar>(s.batch, s.out, 6, 2.0);
    // The probability losses get probabilities bounded away from 0 by construction, not by the
    // luck of a draw: the softmax of the fixed logits sin(0.7·i + 1.3·j) ∈ [−1, 1], so every
    // p ≥ e⁻²/out ≥ 0.135/17 ≈ 8e-3. The central difference of −log p then has a relative
    // truncation error h²/(3p²) ≤ 5e-9 at the double step h = 1e-6, far below the tolerance 1e-6.
    // (A random normal(0, 2) draw could give p near 2e-4, where that error is 8e-6: a FAIL.)
    Matrix<Scalar> bounded_logits(s.batch, s.out);
    for (Index i = 0; i < s.batch; ++i)
      for (Index j = 0; j < s.out; ++j) bounded_logits(i, j) = Scalar(std::sin(0.7 * double(i) + 1.3 * double(j)));
    Matrix<Scalar> p(s.batch, s.out), log_p(s.batch, s.out);
    Softmax<Scalar>(s.out).forward(bounded_logits, p);
    LogSoftmax<Scalar>(s.out).forward(bounded_logits, log_p);
    REQUIRE(p.minCoeff() >= Scalar(std::exp(-2.0) / double(s.out)) * Scalar(0.999));

    SoftmaxCrossEntropy<Scalar> fused;
    CrossEntropy<Scalar> cross_entropy;
    NegativeLogLikelihood<Scalar> nll;
    require_pass<Scalar>(check_loss<Scalar>(fused, logits, y));
    require_pass<Scalar>(check_loss<Scalar>(fused, logits, labels));
    require_pass<Scalar>(check_loss<Scalar>(cross_entropy, p, y));
    require_pass<Scalar>(check_loss<Scalar>(cross_entropy, p, labels));
    require_pass<Scalar>(check_loss<Scalar>(nll, log_p, y));
    require_pass<Scalar>(check_loss<Scalar>(nll, log_p, labels));

    const Matrix<Scalar> target = random_matrix<Scalar>(s.batch, s.out, 8);
    SquaredError<Scalar> se;
    MeanSquaredError<Scalar> mse;
    require_pass<Scalar>(check_loss<Scalar>(se, logits, target));
    require_pass<Scalar>(check_loss<Scalar>(mse, logits, target));
  }
}

TEST_CASE_TEMPLATE("networks: every parameter and dL/dX, layers placed after layers", Scalar, float, double) {
  RandomState rng(21);
  SUBCASE("dense-relu-dense + fused softmax cross-entropy (the notebook MLP, scaled down)") {
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(12, 9), rng, {InitScheme::Normal, 0, 0.5});
    net.template emplace<Relu<Scalar>>(9);
    initialize(net.template emplace<Dense<Scalar>>(9, 4), rng, {InitScheme::Normal, 0, 0.5});
    const Labels labels = random_labels(5, 4, 2);
    require_pass<Scalar>(check_network<Scalar>(net, random_matrix<Scalar>(5, 12, 3), labels, SoftmaxCrossEntropy<Scalar>()));
  }
  SUBCASE("sigmoid and tanh, softmax layer + cross-entropy on probabilities") {
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(6, 7), rng, {InitScheme::Glorot});
    net.template emplace<Sigmoid<Scalar>>(7);
    initialize(net.template emplace<Dense<Scalar>>(7, 5), rng, {InitScheme::TorchDefault});
    net.template emplace<Tanh<Scalar>>(5);
    initialize(net.template emplace<Dense<Scalar>>(5, 3), rng, {InitScheme::He});
    net.template emplace<Softmax<Scalar>>(3);
    const Labels labels = random_labels(4, 3, 9);
    require_pass<Scalar>(check_network<Scalar>(net, random_matrix<Scalar>(4, 6, 4), one_hot<Scalar>(labels, 3),
                                               CrossEntropy<Scalar>()));
  }
  SUBCASE("log-softmax + NLL, and a no-bias sigmoid net under squared error (the cosine shape)") {
    Network<Scalar> net;
    initialize(net.template emplace<Dense<Scalar>>(8, 6), rng, {InitScheme::Uniform, -0.5, 0.5});
    net.template emplace<Relu<Scalar>>(6);
    initialize(net.template emplace<Dense<Scalar>>(6, 3), rng, {InitScheme::Uniform, -0.5, 0.5});
    net.template emplace<LogSoftmax<Scalar>>(3);
    require_pass<Scalar>(check_network<Scalar>(net, random_matrix<Scalar>(1, 8, 5), random_labels(1, 3, 1),
                                               NegativeLogLikelihood<Scalar>()));
    Network<Scalar> cosine;
    initialize(cosine.template emplace<Dense<Scalar>>(20, 5), rng, {InitScheme::Normal, 0, 0.5});
    cosine.template emplace<Sigmoid<Scalar>>(5);
    initialize(cosine.template emplace<Dense<Scalar>>(5, 20, false), rng, {InitScheme::Normal, 0, 0.5});
    const Matrix<Scalar> x = random_matrix<Scalar>(1, 20, 6);
    require_pass<Scalar>(check_network<Scalar>(cosine, x, x, SquaredError<Scalar>()));
  }
}

TEST_CASE("large tensors are checked on a sample of entries") {
  Dense<double> dense(300, 40);
  RandomState rng(1);
  rng.fill_normal(dense.weights(), 0, 0.05);
  GradcheckOptions options;
  options.max_entries = 50;
  const GradcheckReport report = check_layer<double>(dense, 3, options);
  require_pass<double>(report);
  CHECK(report.rows[0].checked <= 50);
  CHECK(report.rows[0].checked >= 40);  // duplicates in the sample are dropped
}

// ---- negative controls: the checker must catch wrong backward passes ----------------------

namespace {

// A dense layer whose backward forgets the bias row's gradient: a classic slip.
template <typename Scalar>
class DenseWithoutBiasGradient final : public Layer<Scalar> {
 public:
  DenseWithoutBiasGradient(Index in, Index out) : inner_(in, out) {}
  std::string kind() const override { return "broken_dense"; }
  std::string describe() const override { return "broken dense (no bias gradient)"; }
  Index input_size() const override { return inner_.input_size(); }
  Index output_size() const override { return inner_.output_size(); }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override { inner_.forward(x, y); }
  void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy, MatrixRef<Scalar> dx,
                bool compute_input_gradient) override {
    inner_.backward(x, y, dy, dx, compute_input_gradient);
    auto params = inner_.parameters();
    params[0].gradient->row(inner_.input_size()).setZero();
  }
  ParameterList<Scalar> parameters() override { return inner_.parameters(); }
  Dense<Scalar>& inner() { return inner_; }

 private:
  Dense<Scalar> inner_;
};

// A sigmoid whose backward uses σ'(x) = y instead of y(1 − y).
template <typename Scalar>
class WrongSigmoid final : public Activation<Scalar> {
 public:
  explicit WrongSigmoid(Index n) : Activation<Scalar>(n), inner_(n) {}
  std::string kind() const override { return "wrong_sigmoid"; }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override { inner_.forward(x, y); }
  void backward(ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy, MatrixRef<Scalar> dx,
                bool compute_input_gradient) override {
    if (compute_input_gradient) dx = (dy.array() * y.array()).matrix();
  }

 private:
  Sigmoid<Scalar> inner_;
};

// A layer whose backward produces no gradient at all (a vacuous check must not pass).
template <typename Scalar>
class SilentLayer final : public Activation<Scalar> {
 public:
  explicit SilentLayer(Index n) : Activation<Scalar>(n) {}
  std::string kind() const override { return "silent"; }
  void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) override { y = x * Scalar(3); }
  void backward(ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>, MatrixRef<Scalar> dx,
                bool compute_input_gradient) override {
    if (compute_input_gradient) dx.setZero();
  }
};

}  // namespace

TEST_CASE_TEMPLATE("negative control: wrong backward passes FAIL the checker", Scalar, float, double) {
  DenseWithoutBiasGradient<Scalar> broken(5, 4);
  RandomState rng(3);
  rng.fill_normal(broken.inner().weights(), 0, 0.5);
  const GradcheckReport dense_report = check_layer<Scalar>(broken, 3);
  CHECK_FALSE(dense_report.passed());
  CHECK_FALSE(dense_report.rows[0].passed);  // W (its bias row) is wrong
  CHECK(dense_report.rows[0].worst_row == 5);  // ...and the worst entry is in the bias row
  CHECK(dense_report.rows[1].passed);          // dX is still right

  WrongSigmoid<Scalar> wrong(6);
  const GradcheckReport sigmoid_report = check_layer<Scalar>(wrong, 2);
  CHECK_FALSE(sigmoid_report.passed());
  CHECK(sigmoid_report.rows.back().problem == "relative error above tolerance");

  SilentLayer<Scalar> silent(4);
  const GradcheckReport silent_report = check_layer<Scalar>(silent, 2);
  CHECK_FALSE(silent_report.passed());
  CHECK(silent_report.rows.back().problem == "analytic gradient is identically zero");

  // Inside a network, the broken layer is caught too.
  Network<Scalar> net;
  auto& first = net.template emplace<DenseWithoutBiasGradient<Scalar>>(5, 4);
  rng.fill_normal(first.inner().weights(), 0, 0.5);
  net.template emplace<Tanh<Scalar>>(4);
  Labels labels(3);
  labels << 0, 3, 1;
  Matrix<Scalar> x(3, 5);
  rng.fill_normal(x, 0, 1);
  CHECK_FALSE(check_network<Scalar>(net, x, labels, SoftmaxCrossEntropy<Scalar>()).passed());
}

TEST_CASE("negative control: a loss gradient off by its 1/N fails") {
  // SoftmaxCrossEntropy's value averages over N; a gradient without /N must be caught.
  class MissingMean final : public Loss<double> {
   public:
    std::string name() const override { return "missing_mean"; }
    double value(ConstMatrixRef<double> o, ConstMatrixRef<double> t) const override { return inner.value(o, t); }
    void gradient(ConstMatrixRef<double> o, ConstMatrixRef<double> t, MatrixRef<double> d) const override {
      inner.gradient(o, t, d);
      d *= double(o.rows());
    }
    SoftmaxCrossEntropy<double> inner;
  } wrong;
  Matrix<double> z(3, 4), y = Matrix<double>::Zero(3, 4);
  RandomState(2).fill_normal(z, 0, 1);
  y(0, 1) = y(1, 0) = y(2, 3) = 1;
  CHECK_FALSE(check_loss<double>(wrong, z, y).passed());
  CHECK(check_loss<double>(wrong.inner, z, y).passed());
}

namespace {

// A dense layer whose float backward is 1% too large in dW while its double copy is right: the
// float-only slip that only the float-vs-double comparison can see.
class DenseWrongInFloat final : public Layer<float> {
 public:
  DenseWrongInFloat(Index in, Index out) : inner_(in, out) {}
  std::string kind() const override { return "dense_wrong_in_float"; }
  std::string describe() const override { return "dense wrong in float"; }
  Index input_size() const override { return inner_.input_size(); }
  Index output_size() const override { return inner_.output_size(); }
  void forward(ConstMatrixRef<float> x, MatrixRef<float> y) override { inner_.forward(x, y); }
  void backward(ConstMatrixRef<float> x, ConstMatrixRef<float> y, ConstMatrixRef<float> dy, MatrixRef<float> dx,
                bool compute_input_gradient) override {
    inner_.backward(x, y, dy, dx, compute_input_gradient);
    *inner_.parameters()[0].gradient *= 1.01f;
  }
  ParameterList<float> parameters() override { return inner_.parameters(); }
  LayerPtr<double> to_double() const override { return inner_.to_double(); }
  Dense<float>& inner() { return inner_; }

 private:
  Dense<float> inner_;
};

}  // namespace

TEST_CASE("float subjects are checked in double and held to the double backward") {
  Dense<float> dense(7, 5);
  RandomState rng(4);
  rng.fill_normal(dense.weights(), 0, 0.5);
  const GradcheckReport report = check_layer<float>(dense, 3);
  INFO(report.to_string());
  CHECK(report.passed());
  REQUIRE(report.rows.size() == 4);  // W and X in double, then W and X float vs double
  CHECK(report.rows[0].subject == dense.describe() + " in double");
  CHECK(report.rows[0].tolerance >= default_gradcheck_tolerance<double>());
  CHECK(report.rows[2].subject == dense.describe() + " float vs double");
  CHECK(report.rows[2].checked == dense.weights().size());  // every entry, not a sample

  SUBCASE("negative control: a backward wrong only in float fails the comparison") {
    DenseWrongInFloat wrong(7, 5);
    rng.fill_normal(wrong.inner().weights(), 0, 0.5);
    const GradcheckReport wrong_report = check_layer<float>(wrong, 3);
    INFO(wrong_report.to_string());
    CHECK_FALSE(wrong_report.passed());
    CHECK(wrong_report.rows[0].passed);        // the double copy is right
    CHECK_FALSE(wrong_report.rows[2].passed);  // W: float against double
    CHECK(wrong_report.rows[2].relative_error > 1e-3);
    CHECK(wrong_report.rows[3].passed);        // X is right
  }
  SUBCASE("float_in_double = false: float central differences, as before") {
    GradcheckOptions options;
    options.float_in_double = false;
    const GradcheckReport float_report = check_layer<float>(dense, 3, options);
    CHECK(float_report.passed());
    CHECK(float_report.rows.size() == 2);
    CHECK(float_report.rows[0].subject == dense.describe());
  }
}

TEST_CASE("numeric uncertainty: the same difference at 2h bounds what central differences resolve") {
  Dense<double> dense(6, 4);
  RandomState rng(5);
  rng.fill_normal(dense.weights(), 0, 0.5);
  const GradcheckReport report = check_layer<double>(dense, 3);
  CHECK(report.passed());
  for (const GradcheckRow& row : report.rows) {
    CHECK(row.numeric_uncertainty < 1e-8);  // a smooth layer: the two steps agree closely
    CHECK(row.tolerance == doctest::Approx(default_gradcheck_tolerance<double>() + 2 * row.numeric_uncertainty));
  }
}

// The README's example, exactly: a float 784→1000 ReLU→10 network, one step, then the check
// with its defaults. In float, central differences at h = 1e-3 on a loss near 2.3 carry about
// 1e-4 of rounding noise, more than these gradients; the check must not fail correct code.
TEST_CASE("the README's example passes its gradient check with the defaults") {
  RandomState rng(42);
  Network<float> net;
  initialize(net.emplace<Dense<float>>(784, 1000), rng, {InitScheme::Normal, 0, 0.01});
  net.emplace<Relu<float>>(1000);
  initialize(net.emplace<Dense<float>>(1000, 10), rng, {InitScheme::Normal, 0, 0.01});
  SoftmaxCrossEntropy<float> loss;
  Sgd<float> sgd(net.parameters(), 1e-2);

  Matrix<float> x(40, 784);
  Labels y(40);
  rng.fill_uniform(x, -1.0, 1.0);
  for (Index i = 0; i < 40; ++i) y(i) = static_cast<std::int32_t>(i % 10);
  const float value = net.forward_backward(x, y, loss);
  CHECK(value == doctest::Approx(std::log(10.0)).epsilon(0.01));
  sgd.step();

  const GradcheckReport report = check_network<float>(net, x, y, loss);
  INFO(report.to_string());
  CHECK(report.passed());
  CHECK(report.rows.size() == 6);  // W1, W2, X in double; the same float vs double

  // Without the double copy, float central differences cannot resolve these gradients: the
  // checker says so (unresolved) rather than calling correct code wrong or vouching for it.
  GradcheckOptions float_only;
  float_only.float_in_double = false;
  const GradcheckReport float_report = check_network<float>(net, x, y, loss, float_only);
  INFO(float_report.to_string());
  CHECK_FALSE(float_report.passed());
  bool unresolved = false;
  for (const GradcheckRow& row : float_report.rows) unresolved = unresolved || row.problem.rfind("unresolved", 0) == 0;
  CHECK(unresolved);
}

TEST_CASE_TEMPLATE("external gradients (a GPU's): checked against differences and the host backward", Scalar, float,
                   double) {
  // 9→6 tanh→4, softmax cross-entropy on labels; the "external" gradients are the host's own,
  // copied out, so they must pass, and each planted error must fail.
  RandomState rng(3);
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(9, 6), rng, {InitScheme::Normal, 0, 0.5});
  net.template emplace<Tanh<Scalar>>(6);
  initialize(net.template emplace<Dense<Scalar>>(6, 4), rng, {InitScheme::Normal, 0, 0.5});
  const Matrix<Scalar> x = random_matrix<Scalar>(5, 9, 11);
  const Labels labels = random_labels(5, 4, 12);
  const SoftmaxCrossEntropy<Scalar> loss;
  const double host_tolerance = sizeof(Scalar) == 4 ? 1e-5 : 1e-12;

  net.forward_backward(x, labels, loss, true);
  ExternalGradients<Scalar> g;
  for (const auto& p : net.parameters()) g.parameters.push_back(*p.gradient);
  g.input = net.input_gradient();

  const GradcheckReport good = check_external_gradients<Scalar>("device", net, x, labels, loss, g, host_tolerance);
  require_pass<Scalar>(good);
  CHECK(good.rows.size() == 2 * (net.parameters().size() + 1));  // each tensor twice: differences, host
  CHECK(good.rows.back().subject == "device vs host");

  SUBCASE("negative control: one bias entry 1% off fails both comparisons") {
    ExternalGradients<Scalar> wrong = g;
    wrong.parameters[1](6, 2) *= Scalar(1.01);  // layer2's bias row
    const GradcheckReport bad = check_external_gradients<Scalar>("device", net, x, labels, loss, wrong, host_tolerance);
    CHECK_FALSE(bad.passed());
    Index failed = 0;
    for (const auto& row : bad.rows) failed += row.passed ? 0 : 1;
    CHECK(failed == 2);
  }
  SUBCASE("negative control: dL/dX of the wrong sign fails") {
    ExternalGradients<Scalar> wrong = g;
    wrong.input = -wrong.input;
    CHECK_FALSE(check_external_gradients<Scalar>("device", net, x, labels, loss, wrong, host_tolerance).passed());
  }
  SUBCASE("a missing tensor or a wrong shape is refused, naming it") {
    ExternalGradients<Scalar> fewer = g;
    fewer.parameters.pop_back();
    CHECK_THROWS_AS(check_external_gradients<Scalar>("device", net, x, labels, loss, fewer, host_tolerance),
                    std::invalid_argument);
    ExternalGradients<Scalar> shape = g;
    shape.parameters[0] = Matrix<Scalar>::Zero(9, 6);
    CHECK_THROWS_WITH_AS(check_external_gradients<Scalar>("device", net, x, labels, loss, shape, host_tolerance),
                         doctest::Contains("gradient of layer0.dense.W"), std::invalid_argument);
  }
}

TEST_CASE("external gradients against a target matrix (the summed squared error)") {
  RandomState rng(4);
  Network<double> net;
  initialize(net.emplace<Dense<double>>(5, 3, false), rng, {InitScheme::Normal, 0, 0.5});
  const Matrix<double> x = random_matrix<double>(4, 5, 13), target = random_matrix<double>(4, 3, 14);
  const SquaredError<double> loss;
  net.forward_backward(x, target, loss, true);
  ExternalGradients<double> g{{*net.parameters()[0].gradient}, Matrix<double>(net.input_gradient())};
  require_pass<double>(check_external_gradients<double>("device", net, x, target, loss, g, 1e-12));
  g.parameters[0] *= 2;  // the squared error's factor 2 twice
  CHECK_FALSE(check_external_gradients<double>("device", net, x, target, loss, g, 1e-12).passed());
}

// The sequential network: parameter counting, repeatable backward, training that learns, and a
// training step that performs no heap allocation after the first.
//
// This file is compiled with EIGEN_RUNTIME_NO_MALLOC and linked against a copy of the library
// compiled with it too, so Eigen itself asserts if it allocates while allocation is forbidden.
// On top of that, malloc and friends are counted (support/malloc_counter.hpp): that also catches
// std::vector, std::string and OpenMP allocations, which Eigen's check cannot see.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>

#include "eigennet/eigennet.hpp"
#include "support/malloc_counter.hpp"

using namespace eigennet;

TEST_CASE("parameter count of 784→64→32→10 (by hand: 785·64 + 65·32 + 33·10 = 52650)") {
  Network<float> net;
  net.emplace<Dense<float>>(784, 64);
  net.emplace<Relu<float>>(64);
  net.emplace<Dense<float>>(64, 32);
  net.emplace<Relu<float>>(32);
  net.emplace<Dense<float>>(32, 10);
  CHECK(net.parameter_count() == 52650);
  const auto params = net.parameters();
  REQUIRE(params.size() == 3);
  CHECK(params[0].name == "layer0.dense.W");
  CHECK(params[2].name == "layer4.dense.W");
  CHECK(params[1].value->rows() == 65);
}

template <typename Scalar>
Network<Scalar> small_mlp(RandomState& rng) {
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(20, 16), rng, {InitScheme::Normal, 0, 0.3});
  net.template emplace<Relu<Scalar>>(16);
  initialize(net.template emplace<Dense<Scalar>>(16, 4), rng, {InitScheme::Normal, 0, 0.3});
  return net;
}

// A batch of normal(0, 1) inputs (rows×cols) and labels drawn from [0, classes).
template <typename Scalar>
struct RandomBatch {
  Matrix<Scalar> x;
  Labels labels;
};
template <typename Scalar>
RandomBatch<Scalar> random_batch(RandomState& rng, Index rows, Index cols, std::int32_t classes) {
  RandomBatch<Scalar> batch{Matrix<Scalar>(rows, cols), Labels(rows)};
  rng.fill_normal(batch.x, 0, 1);
  rng.randint(0, classes, batch.labels);
  return batch;
}

TEST_CASE_TEMPLATE("two backward calls give identical gradients (overwrite, not accumulate)", Scalar, float, double) {
  RandomState rng(4);
  Network<Scalar> net = small_mlp<Scalar>(rng);
  const auto [x, labels] = random_batch<Scalar>(rng, 7, 20, 4);
  SoftmaxCrossEntropy<Scalar> loss;
  net.forward_backward(x, labels, loss);
  std::vector<Matrix<Scalar>> first;
  for (auto& p : net.parameters()) first.push_back(*p.gradient);
  net.backward(net.output_gradient());
  auto params = net.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(*params[i].gradient == first[i]);
}

TEST_CASE_TEMPLATE("a smaller batch reuses the first rows and gives the same result as alone", Scalar, float, double) {
  RandomState rng(5);
  Network<Scalar> net = small_mlp<Scalar>(rng);
  net.reserve(32);
  Matrix<Scalar> x(32, 20);
  rng.fill_normal(x, 0, 1);
  const Matrix<Scalar> full = net.forward(x);
  const Matrix<Scalar> part = net.forward(x.topRows(3));
  CHECK(part.rows() == 3);
  // Different GEMM blockings may round differently; the values are the same to rounding.
  CHECK(part.isApprox(full.topRows(3), std::is_same<Scalar, float>::value ? Scalar(1e-6) : Scalar(1e-14)));
  CHECK(net.reserved_batch() == 32);
}

TEST_CASE_TEMPLATE("SGD and momentum reduce the loss on a separable problem", Scalar, float, double) {
  for (int which = 0; which < 3; ++which) {
    RandomState rng(6);
    Network<Scalar> net = small_mlp<Scalar>(rng);
    Matrix<Scalar> x(64, 20);
    rng.fill_normal(x, 0, 1);
    Labels labels(64);
    for (Index n = 0; n < 64; ++n) labels(n) = (x(n, 0) > 0 ? 1 : 0) + (x(n, 1) > 0 ? 2 : 0);
    SoftmaxCrossEntropy<Scalar> loss;
    std::unique_ptr<Optimizer<Scalar>> opt;
    if (which == 0) opt = std::make_unique<Sgd<Scalar>>(net.parameters(), 0.5);
    if (which == 1) opt = std::make_unique<Momentum<Scalar>>(net.parameters(), 0.1, 0.9);
    if (which == 2) opt = std::make_unique<Adam<Scalar>>(net.parameters(), 0.01);
    const Scalar initial = net.forward_backward(x, labels, loss);
    Scalar last = initial;
    for (int step = 0; step < 200; ++step) {
      last = net.forward_backward(x, labels, loss);
      opt->step();
    }
    CAPTURE(which);
    CHECK(last < Scalar(0.2) * initial);
  }
}

// ---- Plain SGD fused into the backward (Network::forward_backward_sgd) ----------------------

namespace {

template <typename Scalar>
double tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
}

// The largest |a − b| / max(1, |b|) over one field (value or gradient) of every parameter of two
// networks.
template <typename Scalar>
double largest_difference(Network<Scalar>& a, Network<Scalar>& b, Matrix<Scalar>* Parameter<Scalar>::*field) {
  const auto pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  double worst = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    const Matrix<Scalar>& x = *(pa[i].*field);
    const Matrix<Scalar>& y = *(pb[i].*field);
    REQUIRE(x.size() == y.size());
    const auto diff = (x - y).array().abs().template cast<double>();
    const auto scale = y.array().abs().template cast<double>().max(1.0);
    worst = std::max(worst, (diff / scale).maxCoeff());
  }
  return worst;
}
template <typename Scalar>
double parameter_difference(Network<Scalar>& a, Network<Scalar>& b) {
  return largest_difference(a, b, &Parameter<Scalar>::value);
}
template <typename Scalar>
double gradient_difference(Network<Scalar>& a, Network<Scalar>& b) {
  return largest_difference(a, b, &Parameter<Scalar>::gradient);
}

}  // namespace

TEST_CASE_TEMPLATE("Dense::backward_sgd: dX from W before the update, then W − ε·dW, dW not stored", Scalar, float,
                   double) {
  RandomState rng(31);
  for (bool bias : {true, false}) {
    CAPTURE(bias);
    Dense<Scalar> fused(13, 7, bias);
    rng.fill_normal(fused.weights(), 0, 1);
    Dense<Scalar> plain = fused;
    Matrix<Scalar> x(9, 13), dy(9, 7), y(9, 7), dx_fused(9, 13), dx_plain(9, 13);
    rng.fill_normal(x, 0, 1);
    rng.fill_normal(dy, 0, 1);
    fused.forward(x, y);
    const Scalar lr = Scalar(0.1);
    fused.backward_sgd(x, y, dy, dx_fused, true, lr);
    plain.backward(x, y, dy, dx_plain, true);
    const Matrix<Scalar> expected = plain.weights() - lr * plain.weights_gradient();
    const double tol = std::is_same_v<Scalar, float> ? 1e-6 : 1e-14;
    CHECK((dx_fused - dx_plain).cwiseAbs().maxCoeff() <= tol * dx_plain.cwiseAbs().maxCoeff());
    CHECK((fused.weights() - expected).cwiseAbs().maxCoeff() <= tol * expected.cwiseAbs().maxCoeff());
    CHECK(fused.weights_gradient().isZero(0));  // not written
    // Negative control: dX from the updated weights is a different number.
    Matrix<Scalar> dx_after(9, 13);
    plain.weights() = expected;
    plain.backward(x, y, dy, dx_after, true);
    CHECK((dx_after - dx_plain).cwiseAbs().maxCoeff() > 100 * tol * dx_plain.cwiseAbs().maxCoeff());
  }
}

TEST_CASE_TEMPLATE("forward_backward_sgd trains as forward_backward + Sgd::step does; no update on a NaN loss", Scalar,
                   float, double) {
  RandomState rng(32);
  Network<Scalar> fused = small_mlp<Scalar>(rng);
  fused.template emplace<Tanh<Scalar>>(4);  // parameter-free layers fuse trivially
  Network<Scalar> plain = fused.clone(), control = fused.clone();
  CHECK(fused.has_fused_sgd());
  SoftmaxCrossEntropy<Scalar> loss;
  const double lr = 0.3;
  Sgd<Scalar> sgd(plain.parameters(), lr), sgd_control(control.parameters(), lr * 1.001);
  for (Index rows : {17, 23, 5, 23, 11}) {
    const RandomBatch<Scalar> b = random_batch<Scalar>(rng, rows, 20, 4);
    const Scalar fused_loss = fused.forward_backward_sgd(b.x, b.labels, loss, Scalar(lr));
    const Scalar plain_loss = plain.forward_backward(b.x, b.labels, loss);
    sgd.step();
    control.forward_backward(b.x, b.labels, loss);
    sgd_control.step();
    CHECK(double(fused_loss) == doctest::Approx(double(plain_loss)).epsilon(tolerance<Scalar>()));
  }
  CHECK(parameter_difference(fused, plain) <= tolerance<Scalar>());
  CHECK(parameter_difference(fused, control) > 10 * tolerance<Scalar>());  // the comparison can fail
  CHECK(fused.parameters()[0].gradient->isZero(0));                          // no gradient was stored

  // A NaN input: the loss is NaN and nothing is updated.
  Network<Scalar> before = fused.clone();
  RandomBatch<Scalar> bad = random_batch<Scalar>(rng, 8, 20, 4);
  bad.x(3, 5) = std::numeric_limits<Scalar>::quiet_NaN();
  CHECK(std::isnan(double(fused.forward_backward_sgd(bad.x, bad.labels, loss, Scalar(lr)))));
  CHECK(parameter_difference(fused, before) == 0);
}

TEST_CASE("a batch gathered into input_buffer trains as a batch passed from outside (partial, grown buffers)") {
  RandomState rng(33);
  Network<double> in_place = small_mlp<double>(rng);
  Network<double> outside = in_place.clone();
  in_place.reserve(8);
  SoftmaxCrossEntropy<double> loss;
  for (Index rows : {8, 3, 12, 8}) {  // 12 grows the buffers
    CAPTURE(rows);
    const RandomBatch<double> b = random_batch<double>(rng, rows, 20, 4);
    MatrixRef<double> x = in_place.input_buffer(rows);
    REQUIRE(x.rows() == rows);
    x = b.x;
    const double a = in_place.forward_backward_sgd(x, b.labels, loss, 0.1);
    const double c = outside.forward_backward_sgd(b.x, b.labels, loss, 0.1);
    CHECK(a == c);
    CHECK(in_place.output() == outside.output());
    CHECK(in_place.input_buffer(rows) == b.x);  // the network read it where it lay, and left it
  }
  CHECK(parameter_difference(in_place, outside) == 0);
  CHECK_THROWS_AS(in_place.input_buffer(0), std::invalid_argument);
}

TEST_CASE("forward_backward_sgd refuses a network with a layer that does not fuse the update, naming it") {
  Network<float> net;
  net.emplace<Conv2d<float>>(ImageShape{1, 6, 6}, 2, 3);
  net.emplace<Dense<float>>(2 * 4 * 4, 3);
  CHECK_FALSE(net.has_fused_sgd());
  Matrix<float> x = Matrix<float>::Ones(2, 36);
  Labels labels = Labels::Zero(2);
  SoftmaxCrossEntropy<float> loss;
  try {
    net.forward_backward_sgd(x, labels, loss, 0.1f);
    FAIL("no exception");
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()).find("layer 0 (conv2d") != std::string::npos);
  }
}

TEST_CASE("momentum and Adam updates match their formulas on one tensor") {
  Matrix<double> w(1, 2), g(1, 2);
  w << 1.0, -2.0;
  ParameterList<double> params{{"w", &w, &g}};
  Momentum<double> momentum(params, 0.1, 0.9);
  g << 0.5, 1.0;
  momentum.step();  // v = g; w -= 0.1 g
  CHECK(w(0, 0) == doctest::Approx(0.95));
  momentum.step();  // v = 0.9 g + g = 1.9 g; w -= 0.19 g
  CHECK(w(0, 0) == doctest::Approx(0.95 - 0.095));

  w << 1.0, -2.0;
  Adam<double> adam(params, 0.1);
  adam.step();  // first step: m̂ = g, v̂ = g² ⇒ w -= 0.1 · g/(|g| + 1e-8) = 0.1·sign(g)
  CHECK(w(0, 0) == doctest::Approx(0.9));
  CHECK(w(0, 1) == doctest::Approx(-2.1));
}

// Nesterov momentum, PyTorch's form: v ← μ·v + g;  W ← W − ε·(g + μ·v). Three steps with a
// different gradient each time, worked by hand (ε = 0.1, μ = 0.9, W₀ = [1, −2]):
//   g₁ = [0.5, 1]:    v₁ = [0.5, 1];        g₁ + μv₁ = [0.95, 1.9];      W₁ = [0.905, −2.19]
//   g₂ = [−1, 0.25]:  v₂ = [−0.55, 1.15];   g₂ + μv₂ = [−1.495, 1.285];  W₂ = [1.0545, −2.3185]
//   g₃ = [2, −0.5]:   v₃ = [1.505, 0.535];  g₃ + μv₃ = [3.3545, −0.0185]; W₃ = [0.71905, −2.31665]
// Plain momentum (W ← W − ε·v) gives W₁ = [0.95, −2.1] already, so the two must differ.
TEST_CASE("Nesterov momentum: three steps equal W ← W − ε·(g + μ·v) by hand, and differ from plain momentum") {
  Matrix<double> w(1, 2), g(1, 2), w_plain(1, 2), g_plain(1, 2);
  w << 1.0, -2.0;
  w_plain = w;
  Momentum<double> nesterov(ParameterList<double>{{"w", &w, &g}}, 0.1, 0.9, true);
  Momentum<double> plain(ParameterList<double>{{"w", &w_plain, &g_plain}}, 0.1, 0.9, false);
  const double gradients[3][2] = {{0.5, 1.0}, {-1.0, 0.25}, {2.0, -0.5}};
  const double expected[3][2] = {{0.905, -2.19}, {1.0545, -2.3185}, {0.71905, -2.31665}};
  for (int t = 0; t < 3; ++t) {
    CAPTURE(t + 1);
    g << gradients[t][0], gradients[t][1];
    g_plain = g;
    nesterov.step();
    plain.step();
    CHECK(w(0, 0) == doctest::Approx(expected[t][0]).epsilon(1e-12));
    CHECK(w(0, 1) == doctest::Approx(expected[t][1]).epsilon(1e-12));
    CHECK((w - w_plain).cwiseAbs().maxCoeff() > 1e-3);  // Nesterov is not plain momentum
  }
}

// Adam beyond its first step, against its closed form in double: after t steps
//   m_t = (1−β1)·Σ_{i≤t} β1^(t−i)·g_i,  v_t = (1−β2)·Σ_{i≤t} β2^(t−i)·g_i²,
//   m̂ = m_t/(1−β1^t),  v̂ = v_t/(1−β2^t),  W ← W − ε·m̂/(√v̂ + eps).
// The sums are written out here, not recursed, so this is independent of the library's update.
TEST_CASE("Adam: three steps with changing gradients equal the bias-corrected closed form") {
  const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  Matrix<double> w(1, 3), g(1, 3);
  w << 1.0, -2.0, 0.5;
  Matrix<double> expected = w;
  Adam<double> adam(ParameterList<double>{{"w", &w, &g}}, lr, beta1, beta2, eps);
  const double gradients[3][3] = {{0.5, 1.0, -0.2}, {-1.0, 0.25, -0.2}, {2.0, -0.5, 3.0}};
  for (int t = 1; t <= 3; ++t) {
    CAPTURE(t);
    g << gradients[t - 1][0], gradients[t - 1][1], gradients[t - 1][2];
    adam.step();
    for (int j = 0; j < 3; ++j) {
      double m = 0, v = 0;
      for (int i = 1; i <= t; ++i) {
        m += (1 - beta1) * std::pow(beta1, t - i) * gradients[i - 1][j];
        v += (1 - beta2) * std::pow(beta2, t - i) * gradients[i - 1][j] * gradients[i - 1][j];
      }
      const double m_hat = m / (1 - std::pow(beta1, t)), v_hat = v / (1 - std::pow(beta2, t));
      expected(0, j) -= lr * m_hat / (std::sqrt(v_hat) + eps);
      CAPTURE(j);
      CHECK(w(0, j) == doctest::Approx(expected(0, j)).epsilon(1e-12));
    }
  }
}

// With a constant gradient g the bias correction cancels exactly: m̂ = g and v̂ = g² at every
// step, so each step moves W by ε·g/(|g| + eps) ≈ ε·sign(g). By hand: W₀ = [1, −2], g = [0.5, −4],
// ε = 0.1: W₁ = [0.9, −1.9], W₂ = [0.8, −1.8], W₃ = [0.7, −1.7]. Without the correction step 2
// would move by 0.19/√0.001999 ≈ 4.2·ε; with step 1's correction kept, by 1.9/√1.999 ≈ 1.34·ε.
TEST_CASE("Adam: a constant gradient moves W by ε·sign(g) at steps 1, 2 and 3 (bias correction)") {
  Matrix<double> w(1, 2), g(1, 2);
  w << 1.0, -2.0;
  Adam<double> adam(ParameterList<double>{{"w", &w, &g}}, 0.1);
  g << 0.5, -4.0;
  const double expected[3][2] = {{0.9, -1.9}, {0.8, -1.8}, {0.7, -1.7}};
  for (int t = 0; t < 3; ++t) {
    CAPTURE(t + 1);
    adam.step();
    CHECK(w(0, 0) == doctest::Approx(expected[t][0]).epsilon(1e-6));
    CHECK(w(0, 1) == doctest::Approx(expected[t][1]).epsilon(1e-6));
  }
}

TEST_CASE("ExponentialDecay: ε_t = ε·γ^(t / steps_per_decay) before step t+1, set on the inner optimizer") {
  // SGD on one weight with gradient 1: each step lowers w by exactly the rate it used.
  Matrix<double> w(1, 1), g(1, 1);
  w << 0.0;
  g << 1.0;
  ExponentialDecay<double> decay(std::make_unique<Sgd<double>>(ParameterList<double>{{"w", &w, &g}}, 0.1), 0.5, 2);
  CHECK(decay.learning_rate() == 0.1);  // ε: the inner optimizer's rate when built
  const double expected[] = {0.1, 0.1 / std::sqrt(2.0), 0.05, 0.05 / std::sqrt(2.0), 0.025};
  double w_expected = 0;
  for (long long t = 0; t < 5; ++t) {
    CAPTURE(t);
    CHECK(decay.learning_rate_at(t) == doctest::Approx(expected[t]).epsilon(1e-15));
    decay.step();
    w_expected -= expected[t];
    CHECK(decay.steps() == t + 1);
    CHECK(decay.inner().learning_rate() == decay.learning_rate_at(t));
    CHECK(w(0, 0) == doctest::Approx(w_expected).epsilon(1e-15));
  }
  CHECK(decay.learning_rate() == 0.1);  // ε itself does not decay
  decay.set_learning_rate(0.2);         // a new ε scales the rest of the schedule
  CHECK(decay.learning_rate_at(4) == doctest::Approx(0.05).epsilon(1e-15));
}

TEST_CASE("ExponentialDecay with lenet's settings: 1e-3·0.7^(t/937.5), ×0.7 per 60000 samples of 64") {
  // lenet: Adam at 1e-3, ×0.7 per 60000 samples in batches of 64 (937.5 steps). The rate of the
  // step after t steps is 1e-3·0.7^(t/937.5), bit for bit: 7e-4 after one epoch of MNIST.
  Matrix<float> w = Matrix<float>::Zero(2, 3), g = Matrix<float>::Constant(2, 3, 0.5f);
  ExponentialDecay<float> decay(std::make_unique<Adam<float>>(ParameterList<float>{{"w", &w, &g}}, 1e-3), 0.7,
                                60000.0 / 64.0);
  for (long long t : {0LL, 1LL, 937LL, 938LL, 1875LL, 7499LL})
    CHECK(decay.learning_rate_at(t) == 1e-3 * std::pow(0.7, double(t) / 937.5));
  CHECK(decay.learning_rate_at(1875) == doctest::Approx(1e-3 * 0.49).epsilon(1e-12));  // two epochs
  for (long long t = 0; t < 3; ++t) {
    decay.step();
    CHECK(decay.inner().learning_rate() == 1e-3 * std::pow(0.7, double(t) / 937.5));
  }
}

TEST_CASE("learning rates and schedules refuse bad values, naming them") {
  Matrix<double> w(1, 1), g(1, 1);
  const ParameterList<double> params{{"w", &w, &g}};
  CHECK_THROWS_WITH_AS(Sgd<double>(params, 0.0), "optimizer: learning rate must be positive and finite, got 0.000000",
                       std::invalid_argument);
  Sgd<double> sgd(params, 0.1);
  CHECK_THROWS_WITH_AS(sgd.set_learning_rate(-2), "optimizer: learning rate must be positive and finite, got -2.000000",
                       std::invalid_argument);
  CHECK(sgd.learning_rate() == 0.1);
  const auto decay = [&](double gamma, double steps_per_decay) {
    ExponentialDecay<double>(std::make_unique<Sgd<double>>(params, 0.1), gamma, steps_per_decay);
  };
  CHECK_THROWS_WITH_AS(decay(1.5, 10), "exponential decay: gamma must be in (0, 1], got 1.500000", std::invalid_argument);
  CHECK_THROWS_WITH_AS(decay(0.0, 10), "exponential decay: gamma must be in (0, 1], got 0.000000", std::invalid_argument);
  CHECK_THROWS_WITH_AS(decay(0.5, 0), "exponential decay: steps per decay must be positive and finite, got 0.000000",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ExponentialDecay<double>(nullptr, 0.5, 10),
                       "exponential decay: no optimizer to schedule (inner is empty)", std::invalid_argument);
}

TEST_CASE_TEMPLATE("a training step allocates nothing after the first", Scalar, float, double) {
  // The notebook MLP's shape (784→1000→10, batch 40), threaded GEMM included.
  RandomState rng(8);
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(784, 1000), rng, {InitScheme::Normal, 0, 0.01});
  net.template emplace<Relu<Scalar>>(1000);
  initialize(net.template emplace<Dense<Scalar>>(1000, 10), rng, {InitScheme::Normal, 0, 0.01});
  net.template emplace<Softmax<Scalar>>(10);
  net.reserve(40);
  Matrix<Scalar> x(40, 784), y = Matrix<Scalar>::Zero(40, 10);
  rng.fill_normal(x, 0, 1);
  for (Index n = 0; n < 40; ++n) y(n, n % 10) = 1;
  CrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(net.parameters(), 0.01);
  Momentum<Scalar> momentum(net.parameters(), 0.01, 0.9);
  Adam<Scalar> adam(net.parameters(), 1e-3);
  set_thread_count(2);

  auto step = [&](Optimizer<Scalar>& opt, Index batch) {
    const Scalar value = net.forward_backward(x.topRows(batch), y.topRows(batch), loss);
    opt.step();
    return value;
  };
  // Plain SGD fused into the backward, on labels.
  Labels labels(40);
  for (Index n = 0; n < 40; ++n) labels(n) = n % 10;
  auto fused_step = [&](Index batch) {
    return net.forward_backward_sgd(x.topRows(batch), labels.head(batch), loss, Scalar(0.01));
  };
  step(sgd, 40);  // first step: buffers and GEMM packing space come into being
  step(sgd, 17);  // a partial batch: its GEMM shapes are new too
  step(momentum, 40);
  step(adam, 40);
  fused_step(40);
  fused_step(17);

  Scalar value = 0;
  const long allocated = eigennet_test::allocations_during([&] {
    for (int i = 0; i < 3; ++i) {
      value += step(sgd, 40);
      value += step(momentum, 40);
      value += step(adam, 40);
      value += step(sgd, 17);
      value += fused_step(40);
      value += fused_step(17);
    }
  });
  CHECK(allocated == 0);
  CHECK(std::isfinite(double(value)));
  CHECK(eigennet_test::counter_sees_an_allocation());  // so the zero above means something
}

// ---- DataParallel: one replica per thread, gradients summed once per step ------------------

TEST_CASE_TEMPLATE("data-parallel gradients equal the single network's (mean and summed losses, any split)", Scalar,
                   float, double) {
  RandomState rng(21);
  Network<Scalar> parallel_net = small_mlp<Scalar>(rng);
  Network<Scalar> plain = parallel_net.clone();
  Matrix<Scalar> x(23, 20), target(23, 4);
  rng.fill_normal(x, 0, 1);
  rng.fill_normal(target, 0, 1);
  Labels labels(23);
  rng.randint(0, 4, labels);
  SoftmaxCrossEntropy<Scalar> cross_entropy;  // a mean over the batch: blocks weighted n_t/N
  SquaredError<Scalar> squared_error;         // a sum: blocks weighted 1
  for (int threads : {2, 3}) {
    DataParallel<Scalar> dp(parallel_net, threads);
    for (Index rows : {Index(23), Index(10), Index(2), Index(1)}) {  // 2 and 1 rows: some blocks empty
      CAPTURE(threads);
      CAPTURE(rows);
      const Scalar a = dp.forward_backward(x.topRows(rows), labels.head(rows), cross_entropy);
      const Scalar b = plain.forward_backward(x.topRows(rows), labels.head(rows), cross_entropy);
      CHECK(double(a) == doctest::Approx(double(b)).epsilon(tolerance<Scalar>()));
      CHECK(gradient_difference(parallel_net, plain) < tolerance<Scalar>());
      const Scalar c = dp.forward_backward(x.topRows(rows), target.topRows(rows), squared_error);
      const Scalar d = plain.forward_backward(x.topRows(rows), target.topRows(rows), squared_error);
      CHECK(double(c) == doctest::Approx(double(d)).epsilon(tolerance<Scalar>()));
      CHECK(gradient_difference(parallel_net, plain) < tolerance<Scalar>());
    }
  }
}

TEST_CASE("data-parallel training follows the single network step for step (replicas see every update)") {
  RandomState rng(5);
  Network<double> parallel_net;  // a CNN: conv and pooling layers are replicated too
  rng.fill_normal(parallel_net.emplace<Conv2d<double>>(ImageShape{1, 8, 8}, 3, 3, 3, 1, 1).weights(), 0, 0.3);
  parallel_net.emplace<Relu<double>>(3 * 8 * 8);
  parallel_net.emplace<MaxPool2d<double>>(ImageShape{3, 8, 8}, 2, 2, 0, true);
  initialize(parallel_net.emplace<Dense<double>>(3 * 4 * 4, 4), rng, {InitScheme::He});
  Network<double> plain = parallel_net.clone();
  const auto [x, labels] = random_batch<double>(rng, 30, 64, 4);
  SoftmaxCrossEntropy<double> loss;
  DataParallel<double> dp(parallel_net, 2);
  Adam<double> adam_parallel(parallel_net.parameters(), 1e-2), adam_plain(plain.parameters(), 1e-2);
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    const Index begin = (step * 7) % 20;
    const double a = dp.forward_backward(x.middleRows(begin, 10), labels.segment(begin, 10), loss);
    const double b = plain.forward_backward(x.middleRows(begin, 10), labels.segment(begin, 10), loss);
    CHECK(a == doctest::Approx(b).epsilon(1e-10));
    adam_parallel.step();
    adam_plain.step();
    if (step == 0) first = a;
    last = a;
  }
  const auto pa = parallel_net.parameters(), pb = plain.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i].name);
    CHECK((*pa[i].value - *pb[i].value).cwiseAbs().maxCoeff() < 1e-10);
  }
  CHECK(last < first);  // it trained
}

TEST_CASE_TEMPLATE("data-parallel on rows of a set (each thread gathers its block) equals the gathered batch's step",
                   Scalar, float, double) {
  RandomState rng(34);
  Network<Scalar> net = small_mlp<Scalar>(rng);
  Network<Scalar> reference_net = net.clone();
  const RandomBatch<Scalar> set = random_batch<Scalar>(rng, 50, 20, 4);
  std::vector<Index> indices = {7, 3, 49, 0, 21, 21, 8, 30, 12, 44, 5};  // a repeat too
  const Index rows = Index(indices.size());
  Matrix<Scalar> x(rows, 20);
  Labels labels(rows);
  for (Index r = 0; r < rows; ++r) {
    x.row(r) = set.x.row(indices[std::size_t(r)]);
    labels(r) = set.labels(indices[std::size_t(r)]);
  }
  SoftmaxCrossEntropy<Scalar> loss;
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    DataParallel<Scalar> dp(net, threads), reference(reference_net, threads);
    const Scalar a = dp.forward_backward_rows(set.x, indices.data(), rows, labels, loss);
    const Scalar b = reference.forward_backward(x, labels, loss);
    CHECK(a == b);
    CHECK(dp.output() == reference.output());
    CHECK(gradient_difference(net, reference_net) == 0);
  }
  // Negative control: other rows give other gradients.
  DataParallel<Scalar> dp(net, 2), reference(reference_net, 2);
  std::swap(indices[0], indices[10]);
  dp.forward_backward_rows(set.x, indices.data(), rows, labels, loss);
  reference.forward_backward(x, labels, loss);
  CHECK(gradient_difference(net, reference_net) > 0);
}

TEST_CASE_TEMPLATE("data-parallel with SGD fused into the gradient sum equals the sum then Sgd::step; NaN: no update",
                   Scalar, float, double) {
  RandomState rng(35);
  Network<Scalar> fused_net = small_mlp<Scalar>(rng);
  Network<Scalar> plain_net = fused_net.clone();
  const RandomBatch<Scalar> set = random_batch<Scalar>(rng, 40, 20, 4);
  std::vector<Index> indices(17);
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = Index((i * 13) % 40);
  Labels labels(17);
  for (Index r = 0; r < 17; ++r) labels(r) = set.labels(indices[std::size_t(r)]);
  SoftmaxCrossEntropy<Scalar> loss;
  const Scalar lr = Scalar(0.2);
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    DataParallel<Scalar> fused(fused_net, threads), plain(plain_net, threads);
    Sgd<Scalar> sgd(plain_net.parameters(), double(lr));
    for (int s = 0; s < 3; ++s) {
      fused.forward_backward_rows(set.x, indices.data(), 17, labels, loss, lr);
      plain.forward_backward_rows(set.x, indices.data(), 17, labels, loss);
      sgd.step();
    }
    CHECK(parameter_difference(fused_net, plain_net) <= tolerance<Scalar>());
    CHECK(gradient_difference(fused_net, plain_net) <= tolerance<Scalar>());  // dθ is still there
  }
  // Negative control: without the fused rate nothing moves, and the comparison sees it.
  Network<Scalar> before = fused_net.clone();
  DataParallel<Scalar> unfused(fused_net, 2);
  unfused.forward_backward_rows(set.x, indices.data(), 17, labels, loss);
  CHECK(parameter_difference(fused_net, before) == 0);
  DataParallel<Scalar> once_more(fused_net, 2);
  once_more.forward_backward_rows(set.x, indices.data(), 17, labels, loss, lr);
  CHECK(parameter_difference(fused_net, before) > 10 * tolerance<Scalar>());
  // A NaN in a row: the loss is NaN and the parameters stay.
  Matrix<Scalar> bad = set.x;
  bad(indices[5], 3) = std::numeric_limits<Scalar>::quiet_NaN();
  Network<Scalar> kept = fused_net.clone();
  DataParallel<Scalar> nan_step(fused_net, 2);
  CHECK(std::isnan(double(nan_step.forward_backward_rows(bad, indices.data(), 17, labels, loss, lr))));
  CHECK(parameter_difference(fused_net, kept) == 0);
}

TEST_CASE("data-parallel: a wrong block weighting is caught (negative control of the comparison)") {
  // Summing the blocks' mean-loss gradients without their n_t/N weights doubles the gradient
  // for two equal blocks: the comparison used above must see that.
  RandomState rng(3);
  Network<double> net = small_mlp<double>(rng);
  Network<double> replica = net.clone(), plain = net.clone();
  const auto [x, labels] = random_batch<double>(rng, 8, 20, 4);
  SoftmaxCrossEntropy<double> loss;
  plain.forward_backward(x, labels, loss);
  net.forward_backward(x.topRows(4), labels.head(4), loss);
  replica.forward_backward(x.bottomRows(4), labels.tail(4), loss);
  const auto mine = net.parameters(), theirs = replica.parameters();
  for (std::size_t i = 0; i < mine.size(); ++i) *mine[i].gradient += *theirs[i].gradient;  // unweighted: wrong
  CHECK(gradient_difference(net, plain) > 1e-3);
  for (std::size_t i = 0; i < mine.size(); ++i) *mine[i].gradient *= 0.5;  // the n_t/N weights: right
  CHECK(gradient_difference(net, plain) < 1e-12);
}

TEST_CASE("data-parallel: bad input names the shapes, a bad label its rows; no layer without clone()") {
  RandomState rng(4);
  Network<float> net = small_mlp<float>(rng);
  DataParallel<float> dp(net, 2);
  SoftmaxCrossEntropy<float> loss;
  Matrix<float> x(6, 20), wrong(6, 19);
  x.setZero();
  wrong.setZero();
  Labels labels(6);
  labels << 0, 1, 2, 3, 0, 1;
  CHECK_THROWS_WITH_AS(dp.forward_backward(wrong, labels, loss), doctest::Contains("input X is 6×19, expected N×20"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(dp.forward_backward(x, labels.head(5), loss),
                       doctest::Contains("data-parallel: 5 labels for 6 rows"), std::invalid_argument);
  labels(4) = 9;
  CHECK_THROWS_WITH_AS(dp.forward_backward(x, labels, loss), doctest::Contains("block of rows [3, 6)"),
                       std::invalid_argument);
  CHECK_THROWS_AS(DataParallel<float>(net, 0), std::invalid_argument);
}

TEST_CASE_TEMPLATE("a data-parallel training step allocates nothing after the first", Scalar, float, double) {
  RandomState rng(9);
  Network<Scalar> net;  // the practical MLP's shape, batch 100
  initialize(net.template emplace<Dense<Scalar>>(784, 64), rng, {InitScheme::He});
  net.template emplace<Relu<Scalar>>(64);
  initialize(net.template emplace<Dense<Scalar>>(64, 32), rng, {InitScheme::He});
  net.template emplace<Relu<Scalar>>(32);
  initialize(net.template emplace<Dense<Scalar>>(32, 10), rng, {InitScheme::He});
  net.reserve(100);
  DataParallel<Scalar> dp(net, 2);
  const RandomBatch<Scalar> data = random_batch<Scalar>(rng, 100, 784, 10);
  const Matrix<Scalar>& x = data.x;  // named references: the lambda below captures them
  const Labels& labels = data.labels;
  SoftmaxCrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(net.parameters(), 0.01);
  std::vector<Index> rows(100);  // rows of x picked in another order, for forward_backward_rows
  for (Index r = 0; r < 100; ++r) rows[std::size_t(r)] = (r * 37) % 100;
  auto step = [&](Index batch) {
    const Scalar value = dp.forward_backward(x.topRows(batch), labels.head(batch), loss);
    sgd.step();
    return value;
  };
  auto step_rows = [&](Index batch) {
    const Scalar value = dp.forward_backward_rows(x, rows.data(), batch, labels.head(batch), loss);
    sgd.step();
    return value;
  };
  step(100);  // first steps: replica buffers, packing space, the OpenMP team
  step(37);
  step_rows(100);
  step_rows(37);
  auto step_fused = [&](Index batch) {  // plain SGD fused into the gradient sum
    return dp.forward_backward_rows(x, rows.data(), batch, labels.head(batch), loss, Scalar(0.01));
  };
  step_fused(100);

  Scalar value = 0;
  const long allocated = eigennet_test::allocations_during([&] {
    for (int i = 0; i < 5; ++i)
      value += step(100) + step(37) + step_rows(100) + step_rows(37) + step_fused(100) + step_fused(37);
  });
  CHECK(allocated == 0);
  CHECK(std::isfinite(double(value)));
}

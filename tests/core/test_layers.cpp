// Forward values computed by hand, shape errors, and the bias-augmented dense layer held
// against the explicit concatenation [X, 1]·W.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "support/gemm_settings.hpp"

using namespace eigennet;

TEST_CASE_TEMPLATE("dense forward by hand, bias in the last row of W", Scalar, float, double) {
  Dense<Scalar> dense(2, 3);
  // W = [[1, 2, 3], [4, 5, 6], [0.5, -1, 2]]  (last row: bias)
  dense.weights() << 1, 2, 3, 4, 5, 6, 0.5, -1, 2;
  Matrix<Scalar> x(2, 2), y(2, 3);
  x << 1, 0, -1, 2;
  dense.forward(x, y);
  // row 0: [1,0]·W + b = [1,2,3] + [0.5,-1,2] = [1.5, 1, 5]
  // row 1: [-1,2]·W + b = [7, 8, 9] + b = [7.5, 7, 11]
  Matrix<Scalar> expected(2, 3);
  expected << 1.5, 1, 5, 7.5, 7, 11;
  CHECK(y.isApprox(expected));
}

TEST_CASE_TEMPLATE("dense without bias is X·W", Scalar, float, double) {
  Dense<Scalar> dense(2, 2, false);
  CHECK(dense.weights().rows() == 2);
  dense.weights() << 1, 2, 3, 4;
  Matrix<Scalar> x(1, 2), y(1, 2), expected(1, 2);
  x << 2, -1;
  dense.forward(x, y);
  expected << -1, 0;
  CHECK(y.isApprox(expected));
}

TEST_CASE_TEMPLATE("dense equals the explicit concatenation [X, 1]·W, forward and backward", Scalar, float, double) {
  const Index n = 5, d = 7, k = 4;
  RandomState rng(3);
  Dense<Scalar> dense(d, k);
  rng.fill_normal(dense.weights(), 0, 1);
  Matrix<Scalar> x(n, d), dy(n, k), y(n, k), dx(n, d);
  rng.fill_normal(x, 0, 1);
  rng.fill_normal(dy, 0, 1);
  dense.forward(x, y);
  dense.backward(x, y, dy, dx, true);

  Matrix<Scalar> augmented(n, d + 1);
  augmented << x, Matrix<Scalar>::Ones(n, 1);
  const Matrix<Scalar> y_ref = augmented * dense.weights();
  const Matrix<Scalar> dw_ref = augmented.transpose() * dy;
  const Matrix<Scalar> dx_ref = dy * dense.weights().topRows(d).transpose();
  const Scalar tol = std::is_same<Scalar, float>::value ? Scalar(1e-5) : Scalar(1e-12);
  CHECK((y - y_ref).norm() <= tol * y_ref.norm());
  CHECK((dense.weights_gradient() - dw_ref).norm() <= tol * dw_ref.norm());
  CHECK((dx - dx_ref).norm() <= tol * dx_ref.norm());
}

TEST_CASE("initialize(dense): W (D_in, D_out) then the bias row, one row-major draw; glorot and he zero the bias row") {
  // Dense 4→3: W is 5×3 with the bias as its last row; fan_in = 4, fan_out = 3.
  const double glorot = std::sqrt(6.0 / 7.0), he = std::sqrt(2.0 / 4.0);
  for (const InitScheme scheme : {InitScheme::Normal, InitScheme::TorchDefault, InitScheme::Glorot, InitScheme::He}) {
    CAPTURE(init_scheme_name(scheme));
    Dense<double> dense(4, 3);
    RandomState rng(5);
    initialize(dense, rng, {scheme, 0.1, 0.2});

    RandomState expected_rng(5);
    Matrix<double> w(5, 3);  // drawn whole, bias row included
    if (scheme == InitScheme::Normal) expected_rng.fill_normal(w, 0.1, 0.2);
    if (scheme == InitScheme::TorchDefault) expected_rng.fill_uniform(w, -0.5, 0.5);  // ±1/√4
    if (scheme == InitScheme::Glorot) expected_rng.fill_uniform(w, -glorot, glorot);
    if (scheme == InitScheme::He) expected_rng.fill_normal(w, 0.0, he);
    if (scheme == InitScheme::Glorot || scheme == InitScheme::He) w.row(4).setZero();
    CHECK(dense.weights() == w);
    CHECK(rng.standard_normal() == expected_rng.standard_normal());  // the same number of draws
  }
  // Without a bias, W is D_in × D_out and nothing else is drawn.
  Dense<double> no_bias(4, 3, false);
  RandomState rng(5), expected_rng(5);
  initialize(no_bias, rng, {InitScheme::He});
  Matrix<double> w(4, 3);
  expected_rng.fill_normal(w, 0.0, he);
  CHECK(no_bias.weights() == w);
}

TEST_CASE_TEMPLATE("activations by hand", Scalar, float, double) {
  Matrix<Scalar> x(1, 3), y(1, 3);
  x << -2, 0, 3;
  Relu<Scalar> relu(3);
  relu.forward(x, y);
  CHECK(y(0, 0) == 0);
  CHECK(y(0, 1) == 0);
  CHECK(y(0, 2) == 3);

  Sigmoid<Scalar> sigmoid(3);
  sigmoid.forward(x, y);
  CHECK(y(0, 0) == doctest::Approx(1 / (1 + std::exp(2.0))).epsilon(1e-6));
  CHECK(y(0, 1) == doctest::Approx(0.5));
  CHECK(y(0, 2) == doctest::Approx(1 / (1 + std::exp(-3.0))).epsilon(1e-6));

  Tanh<Scalar> tanh_layer(3);
  tanh_layer.forward(x, y);
  CHECK(y(0, 0) == doctest::Approx(std::tanh(-2.0)).epsilon(1e-6));
  CHECK(y(0, 1) == 0);

  // softmax([-2, 0, 3]) = e^x / (e^-2 + 1 + e^3)
  Softmax<Scalar> softmax(3);
  softmax.forward(x, y);
  const double z = std::exp(-2.0) + 1 + std::exp(3.0);
  CHECK(y(0, 0) == doctest::Approx(std::exp(-2.0) / z).epsilon(1e-6));
  CHECK(y(0, 1) == doctest::Approx(1 / z).epsilon(1e-6));
  CHECK(y(0, 2) == doctest::Approx(std::exp(3.0) / z).epsilon(1e-6));

  LogSoftmax<Scalar> log_softmax(3);
  log_softmax.forward(x, y);
  CHECK(y(0, 2) == doctest::Approx(3 - std::log(z)).epsilon(1e-6));
}

// PyTorch's convention at the kink: ReLU's derivative at exactly 0 is 0, so dX is 0 wherever
// x <= 0 (−0 included) and dY where x > 0. Central differences cannot see this (they straddle
// the kink), so it is checked by value: a mask x >= 0 would pass dY through at the zeros.
TEST_CASE_TEMPLATE("relu backward by hand: dX is 0 at x == 0 (and −0), dY where x > 0", Scalar, float, double) {
  Matrix<Scalar> x(2, 4), y(2, 4), dy(2, 4), dx(2, 4), expected(2, 4);
  x << -1.5, 0, 2, -0.0,  //
      0, 3, -2, 0.25;
  dy << 10, 20, 30, 40,  //
      50, 60, 70, 80;
  Relu<Scalar> relu(4);
  relu.forward(x, y);
  dx.setConstant(std::numeric_limits<Scalar>::quiet_NaN());  // every entry must be written
  relu.backward(x, y, dy, dx, true);
  expected << 0, 0, 30, 0,  //
      0, 60, 0, 80;
  CHECK(dx == expected);
}

TEST_CASE_TEMPLATE("softmax and sigmoid are stable for huge inputs", Scalar, float, double) {
  Matrix<Scalar> x(1, 3), y(1, 3);
  x << 1000, 999, -1000;
  Softmax<Scalar> softmax(3);
  softmax.forward(x, y);
  CHECK(y.allFinite());
  CHECK(y.sum() == doctest::Approx(1.0));
  CHECK(y(0, 0) == doctest::Approx(1 / (1 + std::exp(-1.0))).epsilon(1e-5));
  Sigmoid<Scalar> sigmoid(3);
  sigmoid.forward(x, y);
  CHECK(y.allFinite());
  CHECK(y(0, 2) == 0);
  SoftmaxCrossEntropy<Scalar> loss;
  Labels labels(1);
  labels << 2;
  const Scalar value = loss.value_labels(x, labels);
  CHECK(std::isfinite(double(value)));
  // −log softmax = lse − z = (1000 + log(1 + e^-1)) + 1000
  CHECK(value == doctest::Approx(2000 + std::log1p(std::exp(-1.0))).epsilon(1e-6));
}

TEST_CASE_TEMPLATE("losses by hand", Scalar, float, double) {
  // Two samples, three classes; labels 2 and 0.
  Matrix<Scalar> p(2, 3), y(2, 3);
  p << 0.2, 0.3, 0.5, 0.6, 0.3, 0.1;
  y << 0, 0, 1, 1, 0, 0;
  Labels labels(2);
  labels << 2, 0;
  const double ce = -(std::log(0.5 + 1e-7) + std::log(0.6 + 1e-7)) / 2;
  CrossEntropy<Scalar> cross_entropy;
  CHECK(cross_entropy.value(p, y) == doctest::Approx(ce).epsilon(1e-6));
  CHECK(cross_entropy.value_labels(p, labels) == doctest::Approx(ce).epsilon(1e-6));

  NegativeLogLikelihood<Scalar> nll;
  Matrix<Scalar> log_p = p.array().log().matrix();
  CHECK(nll.value_labels(log_p, labels) == doctest::Approx(-(std::log(0.5) + std::log(0.6)) / 2).epsilon(1e-6));
  CHECK(nll.value(log_p, y) == doctest::Approx(nll.value_labels(log_p, labels)).epsilon(1e-6));

  // Fused softmax-cross-entropy on logits z = log p: same value; gradient (P − Y)/N.
  SoftmaxCrossEntropy<Scalar> fused;
  CHECK(fused.value(log_p, y) == doctest::Approx(-(std::log(0.5) + std::log(0.6)) / 2).epsilon(1e-6));
  Matrix<Scalar> dz(2, 3);
  fused.gradient(log_p, y, dz);
  CHECK(dz.isApprox(Matrix<Scalar>((p - y) / Scalar(2)), Scalar(1e-5)));
  fused.gradient_labels(log_p, labels, dz);
  CHECK(dz.isApprox(Matrix<Scalar>((p - y) / Scalar(2)), Scalar(1e-5)));
  // With the notebook's eps the value is −mean log(p + 1e-7).
  SoftmaxCrossEntropy<Scalar> notebook(1e-7);
  CHECK(notebook.value(log_p, y) == doctest::Approx(ce).epsilon(1e-6));

  Matrix<Scalar> o(1, 2), t(1, 2);
  o << 1, 2;
  t << 0, 4;
  SquaredError<Scalar> se;
  CHECK(se.value(o, t) == doctest::Approx(5.0));  // 1 + 4
  MeanSquaredError<Scalar> mse;
  CHECK(mse.value(o, t) == doctest::Approx(2.5));
}

TEST_CASE_TEMPLATE("value_and_gradient: one call equals value then gradient, for every loss", Scalar, float, double) {
  // Logits with a large spread (exp must be taken after the max is subtracted), soft targets
  // that are not one-hot, labels. Softmax-cross-entropy overrides the pair (one pass of
  // exponentials), with and without the notebook's log epsilon; the other losses take the default.
  Matrix<Scalar> z(3, 4), y(3, 4);
  z << 1, -2, 30, 0.5, -4, 2, 2.5, 0, 80, 79, -3, 1;
  y << 0.1, 0.2, 0.6, 0.1, 0, 1, 0, 0, 0.5, 0.5, 0, 0;
  Labels labels(3);
  labels << 2, 1, 0;
  const Matrix<Scalar> p = (z.array() - 100).exp().matrix() / 2 + Matrix<Scalar>::Constant(3, 4, Scalar(0.1));
  const Scalar tolerance = std::is_same_v<Scalar, float> ? Scalar(1e-6) : Scalar(1e-14);
  const auto compare = [&](const Loss<Scalar>& loss, const Matrix<Scalar>& out) {
    CAPTURE(loss.name());
    Matrix<Scalar> expected(3, 4), fused(3, 4);
    const Scalar value = loss.value(out, y);
    loss.gradient(out, y, expected);
    CHECK(loss.value_and_gradient(out, y, fused) == doctest::Approx(value).epsilon(tolerance));
    CHECK((fused - expected).cwiseAbs().maxCoeff() <= tolerance * expected.cwiseAbs().maxCoeff());
    const Scalar value_labels = loss.value_labels(out, labels);
    loss.gradient_labels(out, labels, expected);
    CHECK(loss.value_and_gradient_labels(out, labels, fused) == doctest::Approx(value_labels).epsilon(tolerance));
    CHECK((fused - expected).cwiseAbs().maxCoeff() <= tolerance * expected.cwiseAbs().maxCoeff());
    // The labels' one-hot rows give the target form's answer.
    Matrix<Scalar> one_hot = Matrix<Scalar>::Zero(3, 4);
    for (Index n = 0; n < 3; ++n) one_hot(n, labels(n)) = 1;
    CHECK(loss.value_and_gradient(out, one_hot, expected) == doctest::Approx(value_labels).epsilon(tolerance));
    CHECK((fused - expected).cwiseAbs().maxCoeff() <= tolerance * expected.cwiseAbs().maxCoeff());
  };
  compare(SoftmaxCrossEntropy<Scalar>(), z);
  compare(SoftmaxCrossEntropy<Scalar>(1e-7), z);
  compare(CrossEntropy<Scalar>(), p);
  compare(NegativeLogLikelihood<Scalar>(), z);

  // Negative control: a wrong label changes both the value and the gradient.
  Labels wrong = labels;
  wrong(1) = 3;
  Matrix<Scalar> right(3, 4), other(3, 4);
  const SoftmaxCrossEntropy<Scalar> loss;
  const Scalar v_right = loss.value_and_gradient_labels(z, labels, right);
  const Scalar v_other = loss.value_and_gradient_labels(z, wrong, other);
  CHECK(std::abs(double(v_right - v_other)) > 0.1);
  CHECK((right - other).cwiseAbs().maxCoeff() > Scalar(0.1));
  // Bad labels are refused as by value_labels.
  CHECK_THROWS_WITH_AS(loss.value_and_gradient_labels(z, Labels::Constant(3, 4), other),
                       doctest::Contains("label 4 of sample 0"), std::invalid_argument);
}

TEST_CASE("shape mismatches throw std::invalid_argument naming both shapes") {
  Dense<double> dense(4, 3);
  Matrix<double> x(2, 5), y(2, 3);
  try {
    dense.forward(x, y);
    FAIL("expected an exception");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("2×5") != std::string::npos);
    CHECK(message.find("N×4") != std::string::npos);
  }
  Matrix<double> x_ok(2, 4), y_bad(3, 3);
  CHECK_THROWS_AS(dense.forward(x_ok, y_bad), std::invalid_argument);

  SoftmaxCrossEntropy<double> loss;
  Matrix<double> out(2, 3), target(2, 4);
  try {
    loss.value(out, target);
    FAIL("expected an exception");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("2×3") != std::string::npos);
    CHECK(message.find("2×4") != std::string::npos);
  }
  Labels bad(2);
  bad << 0, 3;
  CHECK_THROWS_WITH_AS(loss.value_labels(out, bad), doctest::Contains("label 3 of sample 1"), std::invalid_argument);

  Network<double> net;
  net.emplace<Dense<double>>(4, 3);
  CHECK_THROWS_WITH_AS(net.emplace<Relu<double>>(5), doctest::Contains("N×5"), std::invalid_argument);
}

TEST_CASE_TEMPLATE("gemm seam agrees with Eigen for every transposition, serial and threaded", Scalar, float, double) {
  RandomState rng(11);
  for (Index threads : {1, 2}) {
    set_thread_count(int(threads));
    for (auto dims : {std::array<Index, 3>{1, 1, 1}, std::array<Index, 3>{3, 5, 7}, std::array<Index, 3>{130, 257, 96}}) {
      const Index m = dims[0], n = dims[1], k = dims[2];
      Matrix<Scalar> a(m, k), at(k, m), b(k, n), bt(n, k), c(m, n);
      rng.fill_normal(a, 0, 1);
      rng.fill_normal(b, 0, 1);
      at = a.transpose();
      bt = b.transpose();
      const Matrix<Scalar> expected = a * b;
      const Scalar tol = std::is_same<Scalar, float>::value ? Scalar(1e-5) : Scalar(1e-12);
      c.setConstant(std::numeric_limits<Scalar>::quiet_NaN());  // beta = 0 must ignore C
      gemm<Scalar>(Op::None, Op::None, 1, a, b, 0, c);
      CHECK((c - expected).norm() <= tol * expected.norm());
      gemm<Scalar>(Op::Transpose, Op::None, 1, at, b, 0, c);
      CHECK((c - expected).norm() <= tol * expected.norm());
      gemm<Scalar>(Op::None, Op::Transpose, 1, a, bt, 0, c);
      CHECK((c - expected).norm() <= tol * expected.norm());
      gemm<Scalar>(Op::Transpose, Op::Transpose, 2, at, bt, -1, c);  // 2AB − AB = AB
      CHECK((c - expected).norm() <= tol * 4 * expected.norm());
    }
  }
  set_thread_count(2);
  Matrix<Scalar> a(2, 3), b(4, 2), c(2, 2);
  CHECK_THROWS_AS(gemm<Scalar>(Op::None, Op::None, 1, a, b, 0, c), std::invalid_argument);
}

// C = alpha·op(A)·op(B) + beta·C for every transposition pair and beta in {0, 1, −0.5}, on every
// GEMM kernel built in (pinned), the planner's choice and the OpenBLAS backend, one and two threads, shapes
// small and large enough to be split over threads. The reference is Eigen's own product of the
// untransposed matrices. With beta == 0, C starts as NaN and the NaNs must not come through.
TEST_CASE_TEMPLATE("gemm: alpha and beta (0, 1, -0.5) for every (op_a, op_b) pair and backend, against Eigen", Scalar,
                   float, double) {
  const eigennet_test::RestoreGemmSetting restore_gemm;
  const ThreadCountScope restore_threads(thread_count());
  const Scalar alpha = Scalar(1.5);
  const Scalar tol = std::is_same<Scalar, float>::value ? Scalar(1e-5) : Scalar(1e-12);
  RandomState rng(17);
  for (const auto& setting : eigennet_test::every_gemm_setting()) {
    setting.apply();
    CAPTURE(setting.name);
    for (int threads : {1, 2}) {
      set_thread_count(threads);
      CAPTURE(threads);
      for (auto dims : {std::array<Index, 3>{1, 1, 1}, std::array<Index, 3>{3, 5, 7}, std::array<Index, 3>{130, 257, 96}}) {
        const Index m = dims[0], n = dims[1], k = dims[2];
        CAPTURE(m);
        Matrix<Scalar> a(m, k), b(k, n), c0(m, n), c(m, n);
        rng.fill_normal(a, 0, 1);
        rng.fill_normal(b, 0, 1);
        rng.fill_normal(c0, 0, 1);
        const Matrix<Scalar> at = a.transpose(), bt = b.transpose();
        const Matrix<Scalar> ab = a * b;
        for (Op op_a : {Op::None, Op::Transpose})
          for (Op op_b : {Op::None, Op::Transpose})
            for (Scalar beta : {Scalar(0), Scalar(1), Scalar(-0.5)}) {
              CAPTURE(int(op_a));
              CAPTURE(int(op_b));
              CAPTURE(beta);
              Matrix<Scalar> expected = alpha * ab;
              if (beta == Scalar(0)) {
                c.setConstant(std::numeric_limits<Scalar>::quiet_NaN());  // ignored when beta == 0
              } else {
                c = c0;
                expected += beta * c0;
              }
              const Matrix<Scalar>& a_arg = op_a == Op::None ? a : at;
              const Matrix<Scalar>& b_arg = op_b == Op::None ? b : bt;
              gemm<Scalar>(op_a, op_b, alpha, a_arg, b_arg, beta, c);
              REQUIRE(c.allFinite());
              CHECK((c - expected).norm() <= tol * expected.norm());
            }
      }
    }
  }
}

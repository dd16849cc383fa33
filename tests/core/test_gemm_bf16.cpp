// bfloat16 products (gemm/precision.hpp):
// - to_bf16 against an independent rounding (frexp + nearbyint to 8 significant bits), ties to
//   even, NaN, ±Inf and overflow;
// - bf16 products against a double-precision product of the bf16-rounded operands: every
//   transposition, padded rows, alpha and beta, a C full of NaN under beta = 0, one thread and a
//   split product; the same products held to the unrounded operands show the bf16 error is there
//   (a product that skipped the rounding, or rounded wrongly, fails one side or the other);
// - double products untouched; the precision's name in gemm_backend_name();
// - GemmPrecisionScope: nested, and left by an exception, it restores the precision before;
// - where bf16 cannot run (no oneDNN, or a CPU without AVX512-BF16/AMX, forced here with
//   oneDNN's ONEDNN_MAX_CPU_ISA in a child process): set_gemm_precision and GemmPrecisionScope
//   refuse with the reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>

#include "eigennet/eigennet.hpp"
#include "support/gemm_settings.hpp"
#include "support/process.hpp"
#include "support/skip.hpp"

using namespace eigennet;

namespace {

// bf16 rounding done another way: 8 significant bits, nearest, ties to even (nearbyint's default).
double reference_bf16(double x) {
  if (x == 0 || !std::isfinite(x)) return x;
  int exponent;
  const double mantissa = std::frexp(x, &exponent);  // x = mantissa · 2^exponent, |mantissa| in [0.5, 1)
  const double rounded = std::ldexp(std::nearbyint(std::ldexp(mantissa, 8)), exponent - 8);
  return std::fabs(rounded) > 0x1.fep127 ? std::copysign(INFINITY, x) : rounded;  // past bf16's largest
}

// Restores float32 products (and the GEMM choice) when a case ends.
struct Float32After {
  eigennet_test::RestoreGemmSetting gemm;
  ~Float32After() { set_gemm_precision(GemmPrecision::Float32); }
};

bool bf16_here() {
  const std::string why = bf16_unavailable_reason();
  if (!why.empty()) eigennet_test::skip("bf16 products: " + why);
  return why.empty();
}

// C = alpha·op(A)·op(B) + beta·C0 in double, with each operand element passed through `round`.
template <typename Round>
Matrix<double> reference(Op op_a, Op op_b, float alpha, const Matrix<float>& a, const Matrix<float>& b, float beta,
                         const Matrix<float>& c0, Round round) {
  const Matrix<double> ad = a.cast<double>().unaryExpr(round), bd = b.cast<double>().unaryExpr(round);
  const Matrix<double> pa = op_a == Op::None ? ad : Matrix<double>(ad.transpose());
  const Matrix<double> pb = op_b == Op::None ? bd : Matrix<double>(bd.transpose());
  Matrix<double> c = double(alpha) * (pa * pb);
  if (beta != 0) c += double(beta) * c0.cast<double>();
  return c;
}

}  // namespace

TEST_CASE("to_bf16 rounds to nearest even, as an independent rounding does") {
  CHECK(to_bf16(1.0f) == 0x3f80);
  CHECK(to_bf16(-2.0f) == 0xc000);
  CHECK(from_bf16(to_bf16(1.0f + 0x1p-8f)) == 1.0f);                   // tie: to even (down)
  CHECK(from_bf16(to_bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);     // tie: to even (up)
  CHECK(from_bf16(to_bf16(1.0f + 0x1p-8f + 0x1p-20f)) == 1.0f + 0x1p-7f);  // past the tie: up
  CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::signaling_NaN()))));
  CHECK(from_bf16(to_bf16(INFINITY)) == INFINITY);
  CHECK(from_bf16(to_bf16(-INFINITY)) == -INFINITY);
  CHECK(from_bf16(to_bf16(std::numeric_limits<float>::max())) == INFINITY);  // beyond bf16's largest
  RandomState rng(11);
  Matrix<float> values(1, 20000);
  rng.fill_normal(values, 0, 1);
  for (Index i = 0; i < values.cols(); ++i) {
    const float x = values(0, i) * std::ldexp(1.0f, int(i % 60) - 30);
    REQUIRE_MESSAGE(double(from_bf16(to_bf16(x))) == reference_bf16(x), "x = " << x);
  }
}

TEST_CASE("bf16 products equal the product of the rounded operands, and differ from float32's") {
  if (!bf16_here()) return;
  Float32After restore;
  RandomState rng(5);
  const Index m = 37, n = 53, k = 301;
  for (int threads : {1, 2})
    for (Op op_a : {Op::None, Op::Transpose})
      for (Op op_b : {Op::None, Op::Transpose})
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          CAPTURE(threads);
          CAPTURE(int(op_a));
          CAPTURE(int(op_b));
          CAPTURE(beta);
          const ThreadCountScope scope(threads);
          const float alpha = beta == 0.5f ? -1.5f : 1.0f;
          // Stored with padded rows (a block of a wider matrix), as gemm() gets views.
          Matrix<float> a_wide(op_a == Op::None ? m : k, (op_a == Op::None ? k : m) + 3);
          Matrix<float> b_wide(op_b == Op::None ? k : n, (op_b == Op::None ? n : k) + 5);
          rng.fill_normal(a_wide, 0, 1);
          rng.fill_normal(b_wide, 0, 1);
          const Matrix<float> a = a_wide.leftCols(a_wide.cols() - 3), b = b_wide.leftCols(b_wide.cols() - 5);
          Matrix<float> c0(m, n);
          rng.fill_normal(c0, 0, 1);
          Matrix<float> c = c0;
          if (beta == 0) c.setConstant(std::numeric_limits<float>::quiet_NaN());  // ignored under beta = 0

          {
            const GemmPrecisionScope bf16(GemmPrecision::Bf16);
            CHECK(std::string(gemm_backend_name()) == "onednn-bf16");
            gemm<float>(op_a, op_b, alpha, a_wide.leftCols(a.cols()), b_wide.leftCols(b.cols()), beta, c);
          }

          const Matrix<double> rounded =
              reference(op_a, op_b, alpha, a, b, beta, c0, [](double x) { return reference_bf16(x); });
          const Matrix<double> exact = reference(op_a, op_b, alpha, a, b, beta, c0, [](double x) { return x; });
          const double scale = exact.cwiseAbs().maxCoeff();
          // float32 accumulation of k = 301 exact bf16 products: ~1e-6 of the result's scale.
          const double from_rounded = (c.cast<double>() - rounded).cwiseAbs().maxCoeff() / scale;
          // bf16's own error: each operand off by up to 2^-9 relative, over k terms.
          const double from_exact = (c.cast<double>() - exact).cwiseAbs().maxCoeff() / scale;
          CHECK(from_rounded < 2e-6);
          CHECK(from_exact > 1e-4);
          CHECK(from_exact < 2e-2);
        }
}

TEST_CASE("double products are untouched by bf16, and float32 comes back") {
  if (!bf16_here()) return;
  Float32After restore;
  RandomState rng(9);
  Matrix<double> a(20, 30), b(30, 10), c(20, 10);
  rng.fill_normal(a, 0, 1);
  rng.fill_normal(b, 0, 1);
  set_gemm_precision(GemmPrecision::Bf16);
  CHECK(gemm_precision() == GemmPrecision::Bf16);
  gemm<double>(Op::None, Op::None, 1.0, a, b, 0.0, c);
  CHECK((c - a * b).cwiseAbs().maxCoeff() < 1e-12);
  set_gemm_precision(GemmPrecision::Float32);
  CHECK(gemm_precision() == GemmPrecision::Float32);
  CHECK(std::string(gemm_backend_name()) != "onednn-bf16");
  Matrix<float> af = a.cast<float>(), bf = b.cast<float>(), cf(20, 10);
  gemm<float>(Op::None, Op::None, 1.0f, af, bf, 0.0f, cf);
  CHECK((cf.cast<double>() - a * b).cwiseAbs().maxCoeff() < 1e-4);  // float32 again, not bf16's ~1e-2
}

TEST_CASE("GemmPrecisionScope: the precision for its scope, the one before after it, an exception included") {
  if (!bf16_here()) return;
  Float32After restore;
  {
    const GemmPrecisionScope bf16(GemmPrecision::Bf16);
    CHECK(gemm_precision() == GemmPrecision::Bf16);
    {
      const GemmPrecisionScope float32(GemmPrecision::Float32);
      CHECK(gemm_precision() == GemmPrecision::Float32);
    }
    CHECK(gemm_precision() == GemmPrecision::Bf16);  // the outer scope's again
  }
  CHECK(gemm_precision() == GemmPrecision::Float32);
  const auto leaves = [] {
    const GemmPrecisionScope bf16(GemmPrecision::Bf16);
    throw std::runtime_error("leaves the scope");
  };
  CHECK_THROWS_AS(leaves(), std::runtime_error);
  CHECK(gemm_precision() == GemmPrecision::Float32);
}

TEST_CASE("precision names: parsed, printed, and an unknown one refused by name") {
  CHECK(parse_gemm_precision("bf16") == GemmPrecision::Bf16);
  CHECK(parse_gemm_precision("bfloat16") == GemmPrecision::Bf16);
  CHECK(parse_gemm_precision("float32") == GemmPrecision::Float32);
  CHECK(std::string(gemm_precision_name(GemmPrecision::Bf16)) == "bf16");
  CHECK_THROWS_WITH_AS(parse_gemm_precision("fp8"), doctest::Contains("'fp8'"), std::invalid_argument);
}

TEST_CASE("where bf16 cannot run, set_gemm_precision refuses with the reason and float32 stays") {
  const char* forced = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string why = bf16_unavailable_reason();
  if (why.empty() && !forced) {
    // This CPU has bf16: make oneDNN see one without it, in a child process (the ISA limit is read
    // once per process), and run this case there.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const auto child = eigennet_test::run_command("ONEDNN_MAX_CPU_ISA=AVX512_CORE '" + self +
                                                  "' --test-case='*where bf16 cannot run*'");
    INFO(child.output);
    CHECK(child.status == 0);
    CHECK(child.output.find("neither AVX512-BF16 nor AMX") != std::string::npos);
    return;
  }
  REQUIRE_FALSE(why.empty());
  std::cout << "bf16 unavailable here: " << why << std::endl;
  CHECK_THROWS_WITH_AS(set_gemm_precision(GemmPrecision::Bf16), doctest::Contains(why.c_str()), std::runtime_error);
  CHECK(gemm_precision() == GemmPrecision::Float32);
  CHECK_THROWS_WITH_AS(GemmPrecisionScope(GemmPrecision::Bf16), doctest::Contains(why.c_str()), std::runtime_error);
  CHECK(gemm_precision() == GemmPrecision::Float32);
}

TEST_CASE("bf16 gradients pass the bf16 gradient check; a backward 25% off, or without its ReLU mask, fails it") {
  if (!bf16_here()) return;
  Float32After restore;
  // 784→64 ReLU→10 under softmax cross-entropy, batch 4; and the same weights without the ReLU.
  RandomState rng(3);
  Network<float> net, linear;
  auto& d0 = net.emplace<Dense<float>>(784, 64);
  initialize(d0, rng, {InitScheme::Normal, 0, 0.05});
  net.emplace<Relu<float>>(64);
  auto& d1 = net.emplace<Dense<float>>(64, 10);
  initialize(d1, rng, {InitScheme::Normal, 0, 0.3});
  linear.emplace<Dense<float>>(784, 64).weights() = d0.weights();
  linear.emplace<Dense<float>>(64, 10).weights() = d1.weights();
  Matrix<float> x(4, 784);
  rng.fill_normal(x, 0, 1);
  Labels labels(4);
  rng.randint(0, 10, labels);
  const SoftmaxCrossEntropy<float> loss;
  GradcheckOptions options;
  options.tolerance = kBf16GradientTolerance;
  const auto check = [&](const ExternalGradients<float>& g) {
    return check_external_gradients<float>("bf16", net, x, labels, loss, g, kBf16GradientTolerance, options);
  };

  const ExternalGradients<float> right = bf16_gradients(net, x, labels, loss);
  CHECK(gemm_precision() == GemmPrecision::Float32);  // as it was before
  const GradcheckReport report = check(right);
  INFO(report.to_string());
  CHECK(report.passed());
  CHECK(report.worst_error() > 1e-4);  // bf16's rounding is there (float32 products would agree to ~1e-6)

  ExternalGradients<float> off = right;
  off.parameters[0] *= 1.25f;  // measure ‖g − ĝ‖/(‖g‖ + ‖ĝ‖) ≈ 0.11
  CHECK_FALSE(check(off).passed());

  ExternalGradients<float> unmasked = bf16_gradients(linear, x, labels, loss);
  CHECK_FALSE(check(unmasked).passed());
}

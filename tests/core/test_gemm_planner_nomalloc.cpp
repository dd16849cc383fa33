// The planner keeps the promise that a training step allocates nothing after the first step:
// planning allocates (on the first call of each product), a planned product does not. Under
// "all", oneDNN may be chosen, and its dnnl_sgemm allocates on every call: shown here too, so that
// the documentation (gemm/plan.hpp) stays true. This program counts every heap allocation
// (support/malloc_counter.hpp), so it is left out of sanitized builds.
#include <doctest/doctest.h>

#include <cmath>
#include <type_traits>

#include "eigennet/eigennet.hpp"
#include "support/gemm_settings.hpp"
#include "support/malloc_counter.hpp"

using namespace eigennet;

namespace {

// The notebook MLP (784→1000→10), one SGD step per call, on `batch` rows.
template <typename Scalar>
struct Mlp {
  RandomState rng{7};
  Network<Scalar> net;
  Matrix<Scalar> x;
  Labels labels;
  SoftmaxCrossEntropy<Scalar> loss;
  std::unique_ptr<Sgd<Scalar>> sgd;
  Mlp() {
    initialize(net.template emplace<Dense<Scalar>>(784, 1000), rng, {InitScheme::Normal, 0, 0.01});
    net.template emplace<Relu<Scalar>>(1000);
    initialize(net.template emplace<Dense<Scalar>>(1000, 10), rng, {InitScheme::Normal, 0, 0.01});
    net.reserve(40);
    x.resize(40, 784);
    rng.fill_normal(x, 0, 1);
    labels.resize(40);
    rng.randint(0, 10, labels);
    sgd = std::make_unique<Sgd<Scalar>>(net.parameters(), 0.01);
  }
  Scalar step(Index batch) {
    const Scalar value = net.forward_backward(x.topRows(batch), labels.head(batch), loss);
    sgd->step();
    return value;
  }
};

}  // namespace

TEST_CASE_TEMPLATE("measured by the planner, a training step allocates nothing after the first", Scalar, float,
                   double) {
  eigennet_test::RestoreGemmSetting restore;
  const ThreadCountScope threads(2);
  set_gemm_choice("auto");
  clear_gemm_plan();
  Mlp<Scalar> mlp;
  mlp.step(40);  // first steps: each product planned (timed on every candidate kernel)
  mlp.step(17);
  const GemmScalar scalar = std::is_same<Scalar, float>::value ? GemmScalar::Float : GemmScalar::Double;
  if (eigennet_test::gemm_candidates("auto", scalar).size() > 1)
    CHECK(gemm_plan().size() >= 8);  // 4 products per step shape
  else
    CHECK(gemm_plan().empty());  // one candidate (no OpenBLAS): it runs unmeasured
  Scalar value = 0;
  const long allocated = eigennet_test::allocations_during([&] {
    for (int i = 0; i < 3; ++i) value += mlp.step(40) + mlp.step(17);
  });
  CHECK(allocated == 0);
  CHECK(std::isfinite(double(value)));
  CHECK(eigennet_test::counter_sees_an_allocation());  // so the zero above means something
  clear_gemm_plan();
}

TEST_CASE_TEMPLATE("each kernel that auto measures, pinned, allocates nothing after the first step", Scalar, float,
                   double) {
  const GemmScalar scalar = std::is_same<Scalar, float>::value ? GemmScalar::Float : GemmScalar::Double;
  for (GemmKernel kernel : eigennet_test::gemm_candidates("auto", scalar)) {
    const std::string name = gemm_kernel_name(kernel);
    CAPTURE(name);
    eigennet_test::RestoreGemmSetting restore;
    const ThreadCountScope threads(2);
    pin_gemm_kernel(kernel);
    Mlp<Scalar> mlp;
    mlp.step(40);  // first steps: packing space (Eigen's and simd's per thread and shape)
    mlp.step(17);
    Scalar value = 0;
    const long allocated = eigennet_test::allocations_during([&] {
      for (int i = 0; i < 3; ++i) value += mlp.step(40) + mlp.step(17);
    });
    CHECK(allocated == 0);
    CHECK(std::isfinite(double(value)));
  }
  CHECK(eigennet_test::counter_sees_an_allocation());
}

TEST_CASE("under \"all\", a product planned onto oneDNN allocates on every call") {
  if (!gemm_kernel_available(GemmKernel::OneDnn, GemmScalar::Float)) return;
  eigennet_test::RestoreGemmSetting restore;
  const ThreadCountScope threads(1);
  set_gemm_choice("all");
  clear_gemm_plan();
  set_gemm_timer([](const GemmProduct&, GemmKernel k) { return k == GemmKernel::OneDnn ? 1e-4 : 1e-3; });
  Mlp<float> mlp;
  mlp.step(40);
  set_gemm_timer(nullptr);
  const long allocated = eigennet_test::allocations_during([&] { mlp.step(40); });
  MESSAGE("allocations in one step with every product on oneDNN: " << allocated);
  CHECK(allocated > 0);
  clear_gemm_plan();
}

// oneDNN's primitive execution builds its argument map on the heap on every call (6 small
// allocations per product, measured); the bf16 buffers and primitives are made once. So a bf16
// step allocates the same few blocks every step, never more: shown here so that
// gemm/precision.hpp stays true.
TEST_CASE("in bf16, every step allocates only oneDNN's argument maps, the same count each step") {
  if (!bf16_unavailable_reason().empty()) return;  // tests/core/test_gemm_bf16.cpp says why
  eigennet_test::RestoreGemmSetting restore;
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const ThreadCountScope scope(threads);
    set_gemm_precision(GemmPrecision::Bf16);
    Mlp<float> mlp;
    mlp.step(40);  // first steps: each product's primitive and bf16 buffers made
    mlp.step(17);
    float value = 0;
    const long first = eigennet_test::allocations_during([&] { value += mlp.step(40) + mlp.step(17); });
    const long later = eigennet_test::allocations_during([&] {
      for (int i = 0; i < 3; ++i) value += mlp.step(40) + mlp.step(17);
    });
    set_gemm_precision(GemmPrecision::Float32);
    MESSAGE("allocations in two bf16 steps: " << first);
    CHECK(later == 3 * first);  // no growth: nothing made anew after the first step
    CHECK(first <= 2 * 4 * 8);  // a handful per product (4 products a step), not buffers
    CHECK(std::isfinite(value));
  }
}

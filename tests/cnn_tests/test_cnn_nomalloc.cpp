// A CNN training step (the notebook's conv → ReLU → pool, a larger conv, dense; batch 40, two
// threads: samples split over threads in the first conv, products split in the second) performs
// no heap allocation after the first: conv workspaces and pool arg-max come from reserve().
//
// Compiled with EIGEN_RUNTIME_NO_MALLOC and linked against the library copy built with it (see
// tests/core/meson.build); malloc is also counted (support/malloc_counter.hpp), which catches
// std::vector, std::string and OpenMP allocations that Eigen's check cannot see.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "eigennet/eigennet.hpp"
#include "support/malloc_counter.hpp"

using namespace eigennet;

TEST_CASE_TEMPLATE("a CNN training step allocates nothing after the first", Scalar, float, double) {
  RandomState rng(9);
  Network<Scalar> net;
  auto& conv = net.template emplace<Conv2d<Scalar>>(ImageShape{1, 28, 28}, 10, 5);
  rng.fill_normal(conv.weights(), 0, 0.1);
  net.template emplace<Relu<Scalar>>(conv.output_size());
  auto& pool = net.template emplace<MaxPool2d<Scalar>>(conv.output_shape(), 2, 2, 0, true);
  // Large enough (64·250·144 multiply-adds a sample) that gemm() splits each product itself.
  auto& conv2 = net.template emplace<Conv2d<Scalar>>(pool.output_shape(), 64, 5, 1, 2);
  rng.fill_normal(conv2.weights(), 0, 0.1);
  auto& dense = net.template emplace<Dense<Scalar>>(conv2.output_size(), 10);
  initialize(dense, rng, {InitScheme::Normal, 0, 0.01});
  net.reserve(40);
  Matrix<Scalar> x(40, 784);
  rng.fill_normal(x, 0, 1);
  Labels labels(40);
  rng.randint(0, 10, labels);
  SoftmaxCrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(net.parameters(), 0.01);
  Adam<Scalar> adam(net.parameters(), 1e-3);
  const ThreadCountScope two_threads(2);

  auto step = [&](Optimizer<Scalar>& opt, Index batch) {
    const Scalar value = net.forward_backward(x.topRows(batch), labels.head(batch), loss);
    opt.step();
    return value;
  };
  step(sgd, 40);  // first steps: GEMM packing space for each shape comes into being
  step(sgd, 13);
  step(adam, 40);

  Scalar value = 0;
  const long allocated = eigennet_test::allocations_during([&] {
    for (int i = 0; i < 3; ++i) {
      value += step(sgd, 40);
      value += step(adam, 40);
      value += step(sgd, 13);
    }
  });
  CHECK(allocated == 0);
  CHECK(std::isfinite(double(value)));
  CHECK(eigennet_test::counter_sees_an_allocation());  // so the zero above means something
}

// The device mirror against the host network, forward and backward: every device layer (dense
// with and without bias, ReLU, sigmoid, tanh), both losses, whole networks; and a negative
// control. Relative errors: float ≤ 1e-5 (no TF32), double ≤ 1e-12. Needs a GPU.
#include <doctest/doctest.h>

#include <functional>

#include "cuda_test_tools.hpp"
#include "eigennet/cuda/device_matrix.hpp"
#include "eigennet/cuda/device_network.hpp"
#include "kernels.hpp"

using namespace eigennet;
using namespace cuda_test;

namespace {

// Runs one batch through host and device, softmax-cross-entropy on labels, and compares the
// output, the loss, every parameter gradient and dL/dX.
template <typename Scalar>
void compare_cross_entropy(Network<Scalar>& net, Index batch, double log_epsilon, std::uint32_t seed) {
  RandomState rng(seed);
  const Matrix<Scalar> x = random_matrix<Scalar>(batch, net.input_size(), rng);
  const Labels labels = random_labels(batch, net.output_size(), rng);
  cuda::DeviceOptions options;
  options.max_batch = batch + 3;  // a batch smaller than the buffers
  options.loss = {cuda::DeviceLoss::Kind::SoftmaxCrossEntropy, log_epsilon};
  cuda::DeviceNetwork<Scalar> device(net, options);

  const Matrix<Scalar> out = device.forward(x);
  CHECK(relative_error<Scalar>(out, Matrix<Scalar>(net.forward(x))) <= tolerance<Scalar>());

  SoftmaxCrossEntropy<Scalar> loss(log_epsilon);
  const Scalar host_loss = net.forward_backward(x, labels, loss, true);
  const Scalar device_loss = device.forward_backward(x, labels, true);
  CHECK(std::abs(double(device_loss - host_loss)) <= tolerance<Scalar>() * std::abs(double(host_loss)));
  for (auto& p : net.parameters()) {
    CAPTURE(p.name);
    CHECK(p.gradient->norm() > 0);
    CHECK(relative_error<Scalar>(device.gradient(p.name), *p.gradient) <= tolerance<Scalar>());
  }
  CHECK(relative_error<Scalar>(device.input_gradient(), Matrix<Scalar>(net.input_gradient())) <= tolerance<Scalar>());
}

// The same with the summed squared error on a target matrix.
template <typename Scalar>
void compare_squared_error(Network<Scalar>& net, Index batch, std::uint32_t seed) {
  RandomState rng(seed);
  const Matrix<Scalar> x = random_matrix<Scalar>(batch, net.input_size(), rng);
  const Matrix<Scalar> targets = random_matrix<Scalar>(batch, net.output_size(), rng);
  cuda::DeviceOptions options;
  options.max_batch = batch;
  options.loss.kind = cuda::DeviceLoss::Kind::SquaredError;
  cuda::DeviceNetwork<Scalar> device(net, options);

  SquaredError<Scalar> loss;
  const Scalar host_loss = net.forward_backward(x, targets, loss, true);
  const Scalar device_loss = device.forward_backward(x, targets, true);
  CHECK(std::abs(double(device_loss - host_loss)) <= tolerance<Scalar>() * std::abs(double(host_loss)));
  CHECK(relative_error<Scalar>(device.forward(x), Matrix<Scalar>(net.forward(x))) <= tolerance<Scalar>());
  for (auto& p : net.parameters()) {
    CAPTURE(p.name);
    CHECK(relative_error<Scalar>(device.gradient(p.name), *p.gradient) <= tolerance<Scalar>());
  }
  net.forward_backward(x, targets, loss, true);
  CHECK(relative_error<Scalar>(device.input_gradient(), Matrix<Scalar>(net.input_gradient())) <= tolerance<Scalar>());
}

// A dense layer followed by `activation` (so the activation's dL/dX reaches the dense layer).
template <typename Scalar>
Network<Scalar> dense_then(const std::function<void(Network<Scalar>&)>& activation, bool bias) {
  Network<Scalar> net;
  net.template emplace<Dense<Scalar>>(13, 9, bias);
  activation(net);
  RandomState rng(7);
  randomize(net, rng, 0.5);
  return net;
}

}  // namespace

TEST_CASE_TEMPLATE("device layers against host layers, forward and backward", Scalar, float, double) {
  if (!device_or_skip()) return;
  using Add = std::function<void(Network<Scalar>&)>;
  const std::vector<std::pair<const char*, Add>> activations = {
      {"none", [](Network<Scalar>&) {}},
      {"relu", [](Network<Scalar>& n) { n.template emplace<Relu<Scalar>>(9); }},
      {"sigmoid", [](Network<Scalar>& n) { n.template emplace<Sigmoid<Scalar>>(9); }},
      {"tanh", [](Network<Scalar>& n) { n.template emplace<Tanh<Scalar>>(9); }},
  };
  for (const auto& [name, add] : activations)
    for (bool bias : {true, false}) {
      CAPTURE(name);
      CAPTURE(bias);
      Network<Scalar> net = dense_then<Scalar>(add, bias);
      compare_squared_error(net, 11, 21);
      compare_cross_entropy(net, 11, 0.0, 22);
    }
}

TEST_CASE_TEMPLATE("device losses: softmax-cross-entropy (with and without eps) and squared error", Scalar, float,
                   double) {
  if (!device_or_skip()) return;
  Network<Scalar> net;
  net.template emplace<Dense<Scalar>>(6, 10);
  RandomState rng(8);
  randomize(net, rng, 3.0);  // large logits: the softmax must subtract the row max
  compare_cross_entropy(net, 17, 0.0, 31);
  compare_cross_entropy(net, 17, 1e-7, 32);
  compare_squared_error(net, 17, 33);
}

TEST_CASE_TEMPLATE("whole networks: the notebook MLP and a sigmoid/tanh MLP", Scalar, float, double) {
  if (!device_or_skip()) return;
  RandomState rng(9);
  Network<Scalar> notebook;
  notebook.template emplace<Dense<Scalar>>(784, 1000);
  notebook.template emplace<Relu<Scalar>>(1000);
  notebook.template emplace<Dense<Scalar>>(1000, 10);
  randomize(notebook, rng, 0.05);
  compare_cross_entropy(notebook, 40, 1e-7, 41);

  Network<Scalar> smooth;
  smooth.template emplace<Dense<Scalar>>(30, 20);
  smooth.template emplace<Sigmoid<Scalar>>(20);
  smooth.template emplace<Dense<Scalar>>(20, 16);
  smooth.template emplace<Tanh<Scalar>>(16);
  smooth.template emplace<Dense<Scalar>>(16, 5);
  randomize(smooth, rng, 0.4);
  compare_cross_entropy(smooth, 25, 0.0, 42);
  compare_squared_error(smooth, 25, 43);
}

TEST_CASE("a layer without a device version is refused by name") {
  if (!device_or_skip()) return;
  Network<float> net;
  net.emplace<Dense<float>>(4, 3);
  net.emplace<Softmax<float>>(3);
  cuda::DeviceOptions options;
  options.max_batch = 2;
  CHECK_THROWS_WITH_AS(cuda::DeviceNetwork<float>(net, options), doctest::Contains("layer1 (softmax"),
                       std::invalid_argument);
}

// Negative control: a deliberately wrong device backward (the sigmoid's dX computed with tanh's
// derivative 1 − y²) must fail the same comparison that the right one passes.
TEST_CASE("negative control: a wrong device backward fails the comparison") {
  if (!device_or_skip()) return;
  RandomState rng(10);
  const Index n = 8, d = 12;
  const Matrix<double> x = random_matrix<double>(n, d, rng, -3, 3), dy = random_matrix<double>(n, d, rng);
  Sigmoid<double> sigmoid(d);
  Matrix<double> y(n, d), dx(n, d);
  sigmoid.forward(x, y);
  sigmoid.backward(x, y, dy, dx, true);

  cuda::DeviceMatrix<double> dev_x(x), dev_dy(dy), dev_y(n, d), dev_dx(n, d);
  auto device_dx = [&](cuda::kernels::Activation backward_as) {
    cuda::kernels::activation_forward<double>(cuda::kernels::Activation::Sigmoid, dev_x.data(), dev_y.data(), n * d,
                                              nullptr);
    cuda::kernels::activation_backward<double>(backward_as, dev_x.data(), dev_y.data(), dev_dy.data(), dev_dx.data(),
                                               n * d, nullptr);
    return dev_dx.download();
  };
  const double right = relative_error<double>(device_dx(cuda::kernels::Activation::Sigmoid), dx);
  const double wrong = relative_error<double>(device_dx(cuda::kernels::Activation::Tanh), dx);
  MESSAGE("right backward: " << right << ", wrong backward: " << wrong);
  CHECK(right <= tolerance<double>());
  CHECK_FALSE(wrong <= tolerance<double>());
}

// Device-resident training against the CPU run: the same batches (one BatchSampler's indices
// drive both), the same update equations; no device allocation after the first step; the step
// captured once per batch size; a NaN loss stops training. Needs a GPU.
#include <doctest/doctest.h>

#include "cuda_test_tools.hpp"
#include "eigennet/cuda/device_network.hpp"
#include "eigennet/cuda/device_training.hpp"
#include "eigennet/data/batching.hpp"

using namespace eigennet;
using namespace cuda_test;

namespace {

template <typename Scalar>
Network<Scalar> small_mlp(std::uint32_t seed) {
  Network<Scalar> net;
  net.template emplace<Dense<Scalar>>(20, 32);
  net.template emplace<Relu<Scalar>>(32);
  net.template emplace<Dense<Scalar>>(32, 16);
  net.template emplace<Tanh<Scalar>>(16);
  net.template emplace<Dense<Scalar>>(16, 4);
  RandomState rng(seed);
  randomize(net, rng, 0.3);
  return net;
}

// After 100 steps (float: rounding differences grow with the steps; double stays near 1e-12).
template <typename Scalar>
constexpr double training_tolerance() {
  return sizeof(Scalar) == 4 ? 1e-4 : 1e-10;
}

// 100 steps of 24 rows from a shuffled 200-sample set (the last batch of each epoch is 8 rows,
// so two batch sizes and two graphs), host and device, parameters and losses compared.
template <typename Scalar>
void compare_training(const cuda::DeviceOptimizer& optimizer, bool graph) {
  RandomState data_rng(5);
  const Matrix<Scalar> x = random_matrix<Scalar>(200, 20, data_rng);
  const Labels labels = random_labels(200, 4, data_rng);
  Network<Scalar> host = small_mlp<Scalar>(6);

  cuda::DeviceOptions options;
  options.max_batch = 24;
  options.optimizer = optimizer;
  options.graph = graph;
  cuda::DeviceNetwork<Scalar> device(host, options);
  device.set_training_set(x, labels);

  std::unique_ptr<Optimizer<Scalar>> cpu_optimizer;
  if (optimizer.kind == cuda::DeviceOptimizer::Kind::Sgd)
    cpu_optimizer = std::make_unique<Sgd<Scalar>>(host.parameters(), optimizer.learning_rate);
  else
    cpu_optimizer = std::make_unique<Momentum<Scalar>>(host.parameters(), optimizer.learning_rate, optimizer.momentum,
                                                       optimizer.nesterov);
  SoftmaxCrossEntropy<Scalar> loss;
  RandomState batch_rng(11);
  BatchSampler sampler(200, 24, BatchRule::ShuffledEpochs, batch_rng);
  Matrix<Scalar> xb(24, 20);
  Labels yb(24);
  std::size_t allocations_after_first = 0;
  for (int step = 1; step <= 100; ++step) {
    const std::vector<Index>& indices = sampler.next();
    const Index n = static_cast<Index>(indices.size());
    for (Index i = 0; i < n; ++i) {
      xb.row(i) = x.row(indices[i]);
      yb(i) = labels(indices[i]);
    }
    const Scalar host_loss = host.forward_backward(xb.topRows(n), yb.head(n), loss);
    cpu_optimizer->step();
    device.step(indices);
    if (step == 1) allocations_after_first = cuda::device_allocation_count();
    if (step == 1 || step % 25 == 0) {
      CAPTURE(step);
      CHECK(std::abs(double(device.loss() - host_loss)) <= training_tolerance<Scalar>() * std::abs(double(host_loss)));
    }
  }
  CHECK(device.steps() == 100);
  CHECK(cuda::device_allocation_count() == allocations_after_first);
  CHECK(device.graphs_captured() == (graph ? 2 : 0));  // batch sizes 24 and 8
  Network<Scalar> copied = small_mlp<Scalar>(99);
  device.copy_to(copied);
  for (auto& p : host.parameters()) {
    CAPTURE(p.name);
    CHECK(relative_error<Scalar>(device.parameter(p.name), *p.value) <= training_tolerance<Scalar>());
  }
  const auto copied_parameters = copied.parameters();
  const auto device_names = device.parameter_names();
  REQUIRE(device_names.size() == copied_parameters.size());
  for (std::size_t i = 0; i < copied_parameters.size(); ++i) {
    CHECK(device_names[i] == copied_parameters[i].name);
    CHECK(*copied_parameters[i].value == device.parameter(device_names[i]));
  }
}

}  // namespace

TEST_CASE_TEMPLATE("100 device steps equal the CPU run: SGD and momentum, graph and direct", Scalar, float, double) {
  if (!device_or_skip()) return;
  cuda::DeviceOptimizer sgd;
  sgd.learning_rate = 0.1;
  cuda::DeviceOptimizer momentum{cuda::DeviceOptimizer::Kind::Momentum, 0.05, 0.9, false};
  cuda::DeviceOptimizer nesterov{cuda::DeviceOptimizer::Kind::Momentum, 0.05, 0.8, true};
  SUBCASE("sgd, graph") { compare_training<Scalar>(sgd, true); }
  SUBCASE("sgd, direct") { compare_training<Scalar>(sgd, false); }
  SUBCASE("momentum, graph") { compare_training<Scalar>(momentum, true); }
  SUBCASE("nesterov, graph") { compare_training<Scalar>(nesterov, true); }
}

TEST_CASE("a NaN loss stops device training at the parameters before it") {
  if (!device_or_skip()) return;
  // ReLU too: max(NaN, 0) stays NaN, as on the CPU, so the NaN reaches the loss.
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    Network<float> host;
    host.emplace<Dense<float>>(20, 8);
    if (relu)
      host.emplace<Relu<float>>(8);
    else
      host.emplace<Tanh<float>>(8);
    host.emplace<Dense<float>>(8, 4);
    RandomState rng(13);
    randomize(host, rng, 0.3);
    Matrix<float> x = random_matrix<float>(50, 20, rng);
    x(7, 3) = std::numeric_limits<float>::quiet_NaN();
    const Labels labels = random_labels(50, 4, rng);
    cuda::DeviceOptions options;
    options.max_batch = 4;
    cuda::DeviceNetwork<float> device(host, options);
    device.set_training_set(x, labels);
    device.step({0, 1, 2, 3});
    device.step({4, 5, 6, 8});
    CHECK(std::isfinite(device.loss()));
    const Matrix<float> before = device.parameter("layer0.dense.W");
    device.step({9, 7, 10, 11});  // row 7 holds a NaN
    device.step({0, 1, 2, 3});
    CHECK_THROWS_WITH_AS(device.synchronize(), doctest::Contains("loss evaluation 3"), TrainingDiverged);
    CHECK_THROWS_AS(device.loss(), TrainingDiverged);
    CHECK(device.parameter("layer0.dense.W") == before);
  }
}

TEST_CASE("a new training set is read by the next steps, also where a step was captured on the old one") {
  if (!device_or_skip()) return;
  RandomState rng(31);
  const Matrix<float> x1 = random_matrix<float>(30, 20, rng), x2 = random_matrix<float>(30, 20, rng);
  const Labels y1 = random_labels(30, 4, rng), y2 = random_labels(30, 4, rng);
  std::vector<float> graph_losses, direct_losses;
  for (bool graph : {true, false}) {
    Network<float> net = small_mlp<float>(32);
    cuda::DeviceOptions options;
    options.max_batch = 6;
    options.graph = graph;
    cuda::DeviceNetwork<float> device(net, options);
    device.set_training_set(x1, y1);
    for (int s = 0; s < 3; ++s) device.step({0, 1, 2, 3, 4, 5});  // the second one is captured
    CHECK(device.graphs_captured() == (graph ? 1 : 0));
    device.set_training_set(x2, y2);
    for (int s = 0; s < 3; ++s) {
      device.step({6, 7, 8, 9, 10, 11});
      (graph ? graph_losses : direct_losses).push_back(device.loss());
    }
  }
  for (std::size_t s = 0; s < 3; ++s) {
    CAPTURE(s);
    CHECK(std::abs(graph_losses[s] - direct_losses[s]) <= 1e-5f * std::abs(direct_losses[s]));
  }
}

// step() queues each batch's indices from one of a few page-locked slots and returns without
// waiting for the device, so the host runs ahead; a slot must not be rewritten before the device
// has copied it. Steps queued back to back must train on the same batches as steps that each
// wait for the device.
TEST_CASE("steps queued back to back read their own batch indices") {
  if (!device_or_skip()) return;
  RandomState rng(41);
  const Matrix<float> x = random_matrix<float>(600, 20, rng);
  const Labels labels = random_labels(600, 4, rng);
  std::vector<StepResult> queued, waited;
  for (bool wait : {false, true}) {
    Network<float> net = small_mlp<float>(42);
    cuda::DeviceOptions options;
    options.max_batch = 30;
    cuda::DeviceNetwork<float> device(net, options);
    device.set_training_set(x, labels);
    RandomState batch_rng(43);
    BatchSampler sampler(600, 30, BatchRule::ShuffledEpochs, batch_rng);
    for (int s = 0; s < 200; ++s) {
      device.step(sampler.next());
      if (wait) device.synchronize();
    }
    device.step_results(wait ? waited : queued);
  }
  REQUIRE(queued.size() == 200);
  REQUIRE(waited.size() == 200);
  for (std::size_t s = 0; s < 200; ++s) {
    CAPTURE(s);
    CHECK(std::abs(queued[s].loss - waited[s].loss) <= 1e-5 * std::abs(waited[s].loss));
    CHECK(std::abs(queued[s].accuracy - waited[s].accuracy) <= 1.0 / 30 + 1e-9);  // a row may flip on a near tie
  }
}

TEST_CASE("bad step input is refused with the reason") {
  if (!device_or_skip()) return;
  Network<float> host = small_mlp<float>(14);
  cuda::DeviceOptions options;
  options.max_batch = 4;
  cuda::DeviceNetwork<float> device(host, options);
  CHECK_THROWS_AS(device.step({0}), std::logic_error);  // no training set yet
  RandomState rng(15);
  device.set_training_set(random_matrix<float>(10, 20, rng), random_labels(10, 4, rng));
  CHECK_THROWS_WITH_AS(device.step({0, 10}), doctest::Contains("index 10"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(device.step({0, 1, 2, 3, 4}), doctest::Contains("max_batch = 4"), std::invalid_argument);
  CHECK_THROWS_AS(device.set_learning_rate(-1), std::invalid_argument);
  Labels bad(10);
  bad.setConstant(4);
  CHECK_THROWS_WITH_AS(device.set_training_set(random_matrix<float>(10, 20, rng), bad), doctest::Contains("label 4"),
                       std::invalid_argument);
}

TEST_CASE("TF32 only when asked: it runs, and is close to the exact float result") {
  if (!device_or_skip()) return;
  RandomState rng(16);
  Network<float> net;
  net.emplace<Dense<float>>(784, 1000);
  net.emplace<Relu<float>>(1000);
  net.emplace<Dense<float>>(1000, 10);
  randomize(net, rng, 0.05);
  const Matrix<float> x = random_matrix<float>(40, 784, rng);
  cuda::DeviceOptions options;
  options.max_batch = 40;
  const Matrix<float> exact = cuda::DeviceNetwork<float>(net, options).forward(x);
  options.tf32 = true;
  const Matrix<float> tf32 = cuda::DeviceNetwork<float>(net, options).forward(x);
  const double error = relative_error<float>(tf32, exact);
  MESSAGE("TF32 against float32: relative error " << error);
  CHECK(error <= 1e-2);
  CHECK(relative_error<float>(exact, Matrix<float>(net.forward(x))) <= tolerance<float>());
}

TEST_CASE_TEMPLATE("the training loops on the GPU (make_device_stepper): the CPU run's history, step for step", Scalar,
                   float, double) {
  if (!device_or_skip()) return;
  RandomState data_rng(21);
  const Matrix<Scalar> x = random_matrix<Scalar>(300, 20, data_rng), test_x = random_matrix<Scalar>(90, 20, data_rng);
  const Labels labels = random_labels(300, 4, data_rng), test_labels = random_labels(90, 4, data_rng);
  const SoftmaxCrossEntropy<Scalar> loss;
  EpochOptions e;
  e.epochs = 3;
  e.batches_per_epoch = 13;  // batch 24 over 300 samples: the last batch of an epoch has 12 rows
  e.batch_size = 24;
  auto run = [&](Network<Scalar>& net, bool on_gpu) {
    Momentum<Scalar> optimizer(net.parameters(), 0.05, 0.9);
    RandomState rng(22);
    BatchSampler sampler(300, 24, BatchRule::ShuffledEpochs, rng);
    const NextBatch next = [&]() -> const std::vector<Index>& { return sampler.next(); };
    const LabeledData<Scalar> train(x, labels), test(test_x, test_labels);
    std::unique_ptr<Stepper<Scalar>> gpu;
    TrainingHooks<Scalar> hooks;
    if (on_gpu) {
      gpu = cuda::make_device_stepper<Scalar>(net, loss, optimizer, train, e.batch_size, false);
      hooks.stepper = gpu.get();
    }
    return train_epochs<Scalar>(net, loss, optimizer, next, train, {}, test, e, hooks);
  };
  Network<Scalar> cpu_net = small_mlp<Scalar>(23), gpu_net = small_mlp<Scalar>(23);
  const TrainingHistory cpu = run(cpu_net, false), gpu = run(gpu_net, true);
  REQUIRE(gpu.loss.size() == cpu.loss.size());
  for (std::size_t i = 0; i < cpu.loss.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(gpu.loss[i] - cpu.loss[i]) <= training_tolerance<Scalar>() * std::abs(cpu.loss[i]));
  }
  CHECK(gpu.batch_accuracy == cpu.batch_accuracy);  // same argmax on every row (ties aside)
  REQUIRE(gpu.test_loss.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(std::abs(gpu.test_loss[i] - cpu.test_loss[i]) <= training_tolerance<Scalar>() * cpu.test_loss[i]);
  const auto gpu_parameters = gpu_net.parameters(), cpu_parameters = cpu_net.parameters();
  for (std::size_t i = 0; i < cpu_parameters.size(); ++i)
    CHECK(relative_error<Scalar>(*gpu_parameters[i].value, *cpu_parameters[i].value) <= training_tolerance<Scalar>());
}

TEST_CASE("the step log: results of more steps than it holds come back in order") {
  if (!device_or_skip()) return;
  Network<float> host = small_mlp<float>(24);
  RandomState rng(25);
  const Matrix<float> x = random_matrix<float>(40, 20, rng);
  const Labels labels = random_labels(40, 4, rng);
  cuda::DeviceOptions options;
  options.max_batch = 8;
  options.step_log = 5;  // 12 steps: the ring is drained twice by step()
  cuda::DeviceNetwork<float> device(host, options);
  device.set_training_set(x, labels);
  std::vector<float> losses;
  for (int s = 0; s < 12; ++s) {
    std::vector<Index> indices;
    for (int i = 0; i < 1 + s % 8; ++i) indices.push_back((s * 3 + i) % 40);
    device.step(indices);
    losses.push_back(device.loss());  // waits: the loss of this step
  }
  std::vector<StepResult> results;
  device.step_results(results);
  REQUIRE(results.size() == 12);
  for (int s = 0; s < 12; ++s) {
    CAPTURE(s);
    CHECK(results[std::size_t(s)].loss == double(losses[std::size_t(s)]));
    CHECK(results[std::size_t(s)].rows == 1 + s % 8);
    CHECK(results[std::size_t(s)].accuracy >= 0);
    CHECK(results[std::size_t(s)].accuracy <= 1);
  }
  results.clear();
  device.step_results(results);
  CHECK(results.empty());
}

TEST_CASE_TEMPLATE("device gradients pass check_external_gradients; a wrong one fails", Scalar, float, double) {
  if (!device_or_skip()) return;
  Network<Scalar> net = small_mlp<Scalar>(26);
  RandomState rng(27);
  const Matrix<Scalar> x = random_matrix<Scalar>(6, 20, rng);
  const Labels labels = random_labels(6, 4, rng);
  const SoftmaxCrossEntropy<Scalar> loss;
  ExternalGradients<Scalar> g = cuda::device_gradients<Scalar>(net, loss, x, labels);
  const double host_tolerance = tolerance<Scalar>();
  const GradcheckReport report = check_external_gradients<Scalar>("device", net, x, labels, loss, g, host_tolerance);
  INFO(report.to_string());
  CHECK(report.passed());
  g.parameters[0] *= Scalar(1.01);  // negative control
  CHECK_FALSE(check_external_gradients<Scalar>("device", net, x, labels, loss, g, host_tolerance).passed());
}

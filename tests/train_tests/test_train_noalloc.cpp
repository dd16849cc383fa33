// After its first step, a training loop allocates nothing: no heap allocation in a step, nor in
// a test or validation pass. The one exception is the first time a product of a new shape runs
// (the first test pass, the smaller last batch of an epoch): the GEMM seam then allocates the
// packing buffers it keeps for that shape. So the tests check the steps before the first pass,
// and everything after the first pass (or the first epoch), steps and passes alike.
// malloc and friends are counted (support/malloc_counter.hpp: that sees Eigen, std::vector,
// std::string and OpenMP alike); the observer reads the count after every step.
#include <doctest/doctest.h>

#include <cstdlib>

#include "eigennet/data/batching.hpp"
#include "eigennet/eigennet.hpp"
#include "eigennet/train/train.hpp"
#include "support/malloc_counter.hpp"

using namespace eigennet;

namespace {

// The notebook's shape at a small size: 64→32 ReLU→10, random data and labels.
template <typename Scalar>
struct Problem {
  Matrix<Scalar> train_x, test_x;
  Labels train_labels, test_labels;
  Network<Scalar> net;
  Problem() : train_x(500, 64), test_x(230, 64), train_labels(500), test_labels(230) {
    RandomState rng(1);
    rng.fill_normal(train_x, 0, 1);
    rng.fill_normal(test_x, 0, 1);
    rng.randint(0, 10, train_labels);
    rng.randint(0, 10, test_labels);
    initialize(net.template emplace<Dense<Scalar>>(64, 32), rng, {InitScheme::Normal, 0, 0.1});
    net.template emplace<Relu<Scalar>>(32);
    initialize(net.template emplace<Dense<Scalar>>(32, 10), rng, {InitScheme::Normal, 0, 0.1});
  }
};

// Allocation count after each step.
struct Recorder {
  std::vector<long> after_step;
  Recorder() { after_step.reserve(1000); }
  TrainingObserver observer() {
    return [this](TrainingEvent e, const TrainingHistory&) {
      if (e == TrainingEvent::Step) after_step.push_back(eigennet_test::allocations());
    };
  }
  // Allocations from the end of step `from` to the end of step `to` (steps count from 1).
  long growth(std::size_t from, std::size_t to) const { return after_step.at(to - 1) - after_step.at(from - 1); }
};

// Three of BatchSampler's shuffled epochs (16 batches of 32, the last of 20; a new permutation each
// epoch) with plain SGD on `train`, `threads` replicas, a test pass on `test` after each epoch
// (batches of 100: three passes, the last one partial). Returns the allocation counts.
template <typename Scalar>
Recorder sgd_epochs(Problem<Scalar>& p, const LabeledData<Scalar>& train, const LabeledData<Scalar>& test,
                    int threads = 1, const BatchTransform<Scalar>& transform = {}) {
  const SoftmaxCrossEntropy<Scalar> loss;
  Sgd<Scalar> sgd(p.net.parameters(), 0.01);
  RandomState rng(43);
  BatchSampler sampler(500, 32, BatchRule::ShuffledEpochs, rng);
  Recorder recorder;
  TrainingHooks<Scalar> hooks;
  hooks.observer = recorder.observer();
  hooks.transform = transform;
  EpochOptions o;
  o.epochs = 3;
  o.batches_per_epoch = sampler.batches_per_epoch();
  o.batch_size = 32;
  o.eval_batch = 100;
  o.data_parallel = threads;
  const TrainingHistory h = train_epochs<Scalar>(
      p.net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); }, train, {}, test, o, hooks);
  REQUIRE(recorder.after_step.size() == 48);
  CHECK(h.test_accuracy.size() == 3);
  return recorder;
}

}  // namespace

TEST_CASE_TEMPLATE("train_iterations allocates nothing after the first step (test passes included)", Scalar, float,
                   double) {
  Problem<Scalar> p;
  const SoftmaxCrossEntropy<Scalar> loss(1e-7);
  Sgd<Scalar> sgd(p.net.parameters(), 0.01);
  RandomState rng(42);
  BatchSampler sampler(500, 40, BatchRule::WithReplacement, rng);
  Recorder recorder;
  TrainingHooks<Scalar> hooks;
  hooks.observer = recorder.observer();
  IterationOptions o;
  o.iterations = 60;
  o.batch_size = 40;
  o.test_every = 10;
  o.eval_batch = 100;  // the test set (230) takes three passes, the last one partial
  const TrainingHistory h = train_iterations<Scalar>(
      p.net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); }, {p.train_x, p.train_labels},
      {p.test_x, p.test_labels}, {p.test_x, p.test_labels}, o, hooks);
  REQUIRE(recorder.after_step.size() == 60);
  CHECK(h.test_accuracy.size() == 6);
  CHECK(recorder.growth(1, 10) == 0);   // steps 2..10
  CHECK(recorder.growth(11, 60) == 0);  // steps 12..60 with the test and validation passes at 20, ..., 50
}

TEST_CASE_TEMPLATE("train_epochs allocates nothing after the first step (with per-batch transform)", Scalar, float,
                   double) {
  Problem<Scalar> p;
  const SoftmaxCrossEntropy<Scalar> loss;
  Momentum<Scalar> momentum(p.net.parameters(), 0.01);
  // A fixed order of batches of 32 (the last one 20): no permutation drawn per epoch.
  std::vector<std::vector<Index>> batches;
  for (Index start = 0; start < 500; start += 32) {
    batches.emplace_back();
    for (Index i = start; i < std::min<Index>(start + 32, 500); ++i) batches.back().push_back(i);
  }
  std::size_t next = 0;
  const NextBatch next_batch = [&]() -> const std::vector<Index>& { return batches[next++ % batches.size()]; };
  Recorder recorder;
  TrainingHooks<Scalar> hooks;
  hooks.observer = recorder.observer();
  hooks.transform = [](MatrixRef<Scalar> b) { b.array() *= Scalar(0.5); };
  EpochOptions o;
  o.epochs = 3;
  o.batches_per_epoch = Index(batches.size());
  o.batch_size = 32;
  o.learning_rate = 0.01;
  const TrainingHistory h = train_epochs<Scalar>(p.net, loss, momentum, next_batch, {p.train_x, p.train_labels},
                                                 {p.test_x, p.test_labels}, {p.test_x, p.test_labels}, o, hooks);
  REQUIRE(batches.size() == 16);
  REQUIRE(recorder.after_step.size() == 48);
  CHECK(h.validation_accuracy.size() == 3);
  CHECK(recorder.growth(1, 15) == 0);   // steps 2..15 (step 16 is the first batch of 20)
  CHECK(recorder.growth(17, 48) == 0);  // steps 18..48: epochs 2 and 3, with the passes after epoch 2
}

TEST_CASE_TEMPLATE("train_epochs on BatchSampler's shuffled epochs, plain SGD (fused), allocates nothing after epoch 1",
                   Scalar, float, double) {
  // Every epoch draws a new permutation into the sampler's storage; plain SGD runs fused into the
  // backward, on batches gathered into the network's input buffer.
  Problem<Scalar> p;
  const Recorder recorder = sgd_epochs<Scalar>(p, {p.train_x, p.train_labels}, {p.test_x, p.test_labels});
  CHECK(p.net.parameters()[0].gradient->isZero(0));  // the fused step ran (no gradient stored)
  CHECK(recorder.growth(17, 48) == 0);  // steps 18..48: epochs 2 and 3, two permutations, the passes
}

TEST_CASE_TEMPLATE("train_epochs on sets of bytes (ByteRows), one thread or two replicas, allocates nothing after epoch 1",
                   Scalar, float, double) {
  // Batches converted from bytes as they are gathered, into the network's input buffer or each
  // replica's; test passes converted into the network's input buffer; a per-batch transform.
  Problem<Scalar> p;
  ByteMatrix train_bytes(500, 64), test_bytes(230, 64);
  for (Index i = 0; i < train_bytes.size(); ++i) train_bytes.data()[i] = std::uint8_t((i * 37) % 256);
  for (Index i = 0; i < test_bytes.size(); ++i) test_bytes.data()[i] = std::uint8_t((i * 53) % 256);
  const LabeledData<Scalar> train(ByteRows<Scalar>(train_bytes, Scalar(0.1), Scalar(0.3)), p.train_labels),
      test(ByteRows<Scalar>(test_bytes), p.test_labels);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const BatchTransform<Scalar> halve = [](MatrixRef<Scalar> b) { b.array() *= Scalar(0.5); };
    const Recorder recorder = sgd_epochs<Scalar>(p, train, test, threads, threads == 2 ? halve : nullptr);
    CHECK(recorder.growth(17, 48) == 0);  // steps 18..48: epochs 2 and 3 and the passes after epoch 2
  }
}

TEST_CASE("BatchSampler allocates nothing in next(), the first epoch's permutation included") {
  for (BatchRule rule : {BatchRule::ShuffledEpochs, BatchRule::WithReplacement, BatchRule::FirstB}) {
    RandomState rng(44);
    BatchSampler sampler(500, 32, rule, rng);
    const long allocated = eigennet_test::allocations_during([&] {
      for (int i = 0; i < 40; ++i) sampler.next();  // two and a half epochs
    });
    CHECK(allocated == 0);
  }
}

TEST_CASE("negative control: the counter sees an allocation inside a step") {
  Problem<double> p;
  const SoftmaxCrossEntropy<double> loss;
  Sgd<double> sgd(p.net.parameters(), 0.01);
  std::vector<Index> batch = {0, 1, 2, 3};
  Recorder recorder;
  TrainingHooks<double> hooks;
  hooks.observer = recorder.observer();
  hooks.transform = [](MatrixRef<double> b) {
    Matrix<double> copy = b;  // allocates every step
    b = copy;
  };
  IterationOptions o;
  o.iterations = 5;
  o.batch_size = 4;
  train_iterations<double>(p.net, loss, sgd, [&]() -> const std::vector<Index>& { return batch; },
                           {p.train_x, p.train_labels}, {}, {}, o, hooks);
  CHECK(recorder.growth(1, 5) >= 4);
}

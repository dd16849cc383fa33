// The training loops and evaluation of eigennet/train.hpp on small synthetic problems:
// the NaN/Inf stop, the test-every-k schedule, epochs that cover the data, accuracy and
// evaluate, learning, and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

#include "eigennet/data/batching.hpp"
#include "eigennet/data/preprocess.hpp"
#include "eigennet/eigennet.hpp"
#include "eigennet/train/train.hpp"

using namespace eigennet;

namespace {

// Three Gaussian blobs in 4-D, well apart: a linear model can learn them.
struct Blobs {
  Matrix<double> x;
  Labels labels;
};
Blobs make_blobs(Index n, std::uint32_t seed) {
  RandomState rng(seed);
  Blobs b{Matrix<double>(n, 4), Labels(n)};
  for (Index i = 0; i < n; ++i) {
    const int k = int(i % 3);
    b.labels(i) = k;
    for (Index j = 0; j < 4; ++j) b.x(i, j) = rng.normal(j == k ? 3.0 : 0.0, 0.5);
  }
  return b;
}

// A linear classifier 4→3 on logits, drawn from a seed.
Network<double> linear_net(std::uint32_t seed) {
  Network<double> net;
  RandomState rng(seed);
  initialize(net.emplace<Dense<double>>(4, 3), rng, {InitScheme::Normal, 0.0, 0.1});
  return net;
}

// The same batch every step: samples 0..b-1.
struct FixedBatch {
  std::vector<Index> indices;
  explicit FixedBatch(Index b) : indices(std::size_t(b)) { std::iota(indices.begin(), indices.end(), Index(0)); }
  NextBatch callable() {
    return [this]() -> const std::vector<Index>& { return indices; };
  }
};

// Three epochs of `sampler`'s batches of `batch` rows at learning rate 0.3, on `threads` threads.
EpochOptions three_epochs(const BatchSampler& sampler, Index batch, int threads = 1) {
  EpochOptions o;
  o.epochs = 3;
  o.batches_per_epoch = sampler.batches_per_epoch();
  o.batch_size = batch;
  o.learning_rate = 0.3;
  o.data_parallel = threads;
  return o;
}

}  // namespace

TEST_CASE("accuracy: row-wise arg-max, ties to the first maximum (numpy's argmax)") {
  Matrix<double> scores(4, 3);
  scores << 1, 3, 3,   // tie between 1 and 2: predicts 1
      5, 1, 0,         // 0
      0, 0, 0,         // all tied: 0
      -1, -2, -0.5;    // 2
  Labels labels(4);
  labels << 1, 0, 0, 2;
  CHECK(accuracy<double>(scores, labels) == 1.0);
  labels << 2, 0, 1, 2;  // the tie rule makes rows 0 and 2 wrong
  CHECK(accuracy<double>(scores, labels) == 0.5);
  Labels three(3);
  CHECK_THROWS_AS(accuracy<double>(scores, three), std::invalid_argument);
}

TEST_CASE("evaluate: the same result for any batch size, the loss averaged over all samples") {
  const Blobs data = make_blobs(103, 3);
  Network<double> net = linear_net(5);
  const SoftmaxCrossEntropy<double> loss;
  const LabeledData<double> set(data.x, data.labels);

  const Evaluation whole = evaluate<double>(net, set, 1000, &loss);
  const Evaluation small = evaluate<double>(net, set, 7, &loss);
  const double expected_loss = loss.value_labels(net.forward(data.x), data.labels);
  const double expected_accuracy = accuracy<double>(net.forward(data.x), data.labels);
  CHECK(whole.samples == 103);
  CHECK(whole.accuracy == expected_accuracy);
  CHECK(small.accuracy == expected_accuracy);
  CHECK(whole.loss == doctest::Approx(expected_loss).epsilon(1e-12));
  CHECK(small.loss == doctest::Approx(expected_loss).epsilon(1e-12));
  CHECK(std::isnan(evaluate<double>(net, set, 10).loss));  // no loss asked

  // A transform is applied to every evaluation batch: negating the inputs changes the answer.
  const BatchTransform<double> negate = [](MatrixRef<double> b) { b = -b; };
  const Matrix<double> negated = -data.x;
  const double negated_accuracy = accuracy<double>(net.forward(negated), data.labels);
  CHECK(negated_accuracy != expected_accuracy);
  CHECK(evaluate<double>(net, set, 10, &loss, negate).accuracy == negated_accuracy);
}

TEST_CASE("train_iterations learns, records every step, and tests every k steps and after the last") {
  const Blobs train = make_blobs(300, 1), test = make_blobs(90, 2), validation = make_blobs(60, 4);
  Network<double> net = linear_net(7);
  const SoftmaxCrossEntropy<double> loss;
  Sgd<double> sgd(net.parameters(), 0.01);
  RandomState rng(11);
  BatchSampler sampler(300, 20, BatchRule::WithReplacement, rng);
  const NextBatch next = [&]() -> const std::vector<Index>& { return sampler.next(); };

  int steps_seen = 0, tests_seen = 0;
  TrainingHooks<double> hooks;
  hooks.observer = [&](TrainingEvent e, const TrainingHistory& h) {
    if (e == TrainingEvent::Step) CHECK(h.steps() == ++steps_seen);
    if (e == TrainingEvent::Test) ++tests_seen;
  };
  IterationOptions o;
  o.iterations = 25;
  o.batch_size = 20;
  o.learning_rate = 0.5;
  o.test_every = 10;
  const TrainingHistory h = train_iterations<double>(net, loss, sgd, next, {train.x, train.labels},
                                                     {validation.x, validation.labels}, {test.x, test.labels}, o, hooks);
  CHECK(sgd.learning_rate() == 0.5);  // options.learning_rate is set, so the loop sets it
  CHECK(h.steps() == 25);
  CHECK(h.batch_accuracy.size() == 25);
  CHECK(steps_seen == 25);
  CHECK(tests_seen == 3);
  CHECK(h.test_step == std::vector<double>{10, 20, 25});
  CHECK(h.test_accuracy.size() == 3);
  CHECK(h.test_loss.size() == 3);
  CHECK(h.validation_accuracy.size() == 3);  // a validation pass with every test pass
  CHECK(h.epoch_loss.empty());
  // It learned: the blobs are separable.
  CHECK(h.final_test_accuracy() > 0.95);
  CHECK(h.validation_accuracy.back() > 0.95);
  CHECK(h.loss.back() < 0.5 * h.loss.front());
  // The final test accuracy is the model's accuracy now.
  CHECK(h.final_test_accuracy() == evaluate<double>(net, {test.x, test.labels}, 1000).accuracy);

  SUBCASE("a multiple of k tests once at the end; k = 0 tests after the last step only") {
    Network<double> again = linear_net(7);
    Sgd<double> sgd2(again.parameters(), 0.01);
    FixedBatch fixed(20);
    o.iterations = 30;
    TrainingHistory h30 = train_iterations<double>(again, loss, sgd2, fixed.callable(), {train.x, train.labels}, {},
                                                   {test.x, test.labels}, o);
    CHECK(h30.test_step == std::vector<double>{10, 20, 30});
    CHECK(h30.validation_accuracy.empty());
    o.test_every = 0;
    o.iterations = 7;
    TrainingHistory h7 = train_iterations<double>(again, loss, sgd2, fixed.callable(), {train.x, train.labels}, {},
                                                  {test.x, test.labels}, o);
    CHECK(h7.test_step == std::vector<double>{7});
  }
}

TEST_CASE("the optimizer owns its learning rate: default options train at the rate it was built with") {
  // Adam's first step moves every weight by ε·g/(|g| + 1e-8) = ±ε (for |g| ≫ 1e-8): the largest
  // change of W after one step is the learning rate that step used.
  const Blobs train = make_blobs(30, 1);
  const SoftmaxCrossEntropy<double> loss;
  FixedBatch fixed(10);
  const auto largest_change = [](const Matrix<double>& before, Network<double>& net) {
    return (net.parameters()[0].value->array() - before.array()).abs().maxCoeff();
  };
  const auto one_step = [&](std::optional<double> learning_rate, bool epochs) {
    Network<double> net = linear_net(7);
    const Matrix<double> before = *net.parameters()[0].value;
    Adam<double> adam(net.parameters(), 1e-3);
    if (epochs) {
      EpochOptions o;
      o.epochs = 1;
      o.batches_per_epoch = 1;
      o.batch_size = 10;
      o.learning_rate = learning_rate;
      train_epochs<double>(net, loss, adam, fixed.callable(), {train.x, train.labels}, {}, {}, o);
    } else {
      IterationOptions o;
      o.iterations = 1;
      o.batch_size = 10;
      o.learning_rate = learning_rate;
      train_iterations<double>(net, loss, adam, fixed.callable(), {train.x, train.labels}, {}, {}, o);
    }
    return std::make_pair(adam.learning_rate(), largest_change(before, net));
  };
  for (bool epochs : {false, true}) {
    CAPTURE(epochs);
    // Default options: the rate Adam was built with (the loops once set 1e-2 and 5e-2 here).
    const auto [kept, kept_change] = one_step(std::nullopt, epochs);
    CHECK(kept == 1e-3);
    CHECK(kept_change == doctest::Approx(1e-3).epsilon(1e-6));
    // Negative control: a learning rate in the options does change it.
    const auto [set, set_change] = one_step(0.02, epochs);
    CHECK(set == 0.02);
    CHECK(set_change == doctest::Approx(0.02).epsilon(1e-6));
  }
}

TEST_CASE("the host loop fuses plain SGD into the backward; the same parameters as backward + Sgd::step") {
  // Plain SGD on one network of Dense layers runs as Network::forward_backward_sgd (no gradient
  // stored); any other optimizer, or data_parallel > 1, steps through the gradients.
  const Blobs train = make_blobs(40, 1);
  const SoftmaxCrossEntropy<double> loss;
  FixedBatch fixed(20);
  IterationOptions o;
  o.iterations = 6;
  o.batch_size = 20;
  o.test_every = 0;
  Network<double> fused = linear_net(7);
  Sgd<double> sgd(fused.parameters(), 0.2);
  train_iterations<double>(fused, loss, sgd, fixed.callable(), {train.x, train.labels}, {}, {}, o);
  CHECK(fused.parameters()[0].gradient->isZero(0));  // the fused path ran: dW was never stored

  // The same steps by hand, through the gradients.
  Network<double> by_hand = linear_net(7);
  Sgd<double> sgd_by_hand(by_hand.parameters(), 0.2);
  const Matrix<double> x = train.x.topRows(20);
  const Labels labels = train.labels.head(20);
  for (int s = 0; s < 6; ++s) {
    by_hand.forward_backward(x, labels, loss);
    sgd_by_hand.step();
  }
  const auto difference = [&](Network<double>& a) {
    return (a.parameters()[0].value->array() - by_hand.parameters()[0].value->array()).abs().maxCoeff();
  };
  CHECK(difference(fused) < 1e-12);
  // Negative control: one step fewer is far from it.
  Network<double> shorter = linear_net(7);
  Sgd<double> sgd_shorter(shorter.parameters(), 0.2);
  o.iterations = 5;
  train_iterations<double>(shorter, loss, sgd_shorter, fixed.callable(), {train.x, train.labels}, {}, {}, o);
  CHECK(difference(shorter) > 1e-6);

  // Momentum with μ = 0 is the same update through the gradients: they are stored.
  Network<double> momentum_net = linear_net(7);
  Momentum<double> momentum(momentum_net.parameters(), 0.2, 0.0);
  o.iterations = 6;
  train_iterations<double>(momentum_net, loss, momentum, fixed.callable(), {train.x, train.labels}, {}, {}, o);
  CHECK_FALSE(momentum_net.parameters()[0].gradient->isZero(0));
  CHECK(difference(momentum_net) < 1e-12);
}

TEST_CASE("a learning rate in the options must be positive and finite; the error names the value") {
  const Blobs train = make_blobs(20, 1);
  const SoftmaxCrossEntropy<double> loss;
  Network<double> net = linear_net(7);
  Sgd<double> sgd(net.parameters(), 0.01);
  FixedBatch fixed(4);
  IterationOptions o;
  o.iterations = 1;
  o.batch_size = 4;
  o.learning_rate = -0.5;
  CHECK_THROWS_WITH_AS(train_iterations<double>(net, loss, sgd, fixed.callable(), {train.x, train.labels}, {}, {}, o),
                       "training: learning rate must be positive and finite, got -0.500000", std::invalid_argument);
  EpochOptions e;
  e.batches_per_epoch = 1;
  e.batch_size = 4;
  e.learning_rate = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(train_epochs<double>(net, loss, sgd, fixed.callable(), {train.x, train.labels}, {}, {}, e),
                       "training: learning rate must be positive and finite, got inf", std::invalid_argument);
  CHECK(sgd.learning_rate() == 0.01);  // refused before anything changed
}

TEST_CASE("train_epochs: every epoch visits each sample once; per-epoch loss, validation and test") {
  const Blobs train = make_blobs(53, 1), test = make_blobs(30, 2), validation = make_blobs(21, 4);
  Network<double> net = linear_net(7);
  const SoftmaxCrossEntropy<double> loss;
  Sgd<double> sgd(net.parameters(), 0.01);
  RandomState rng(3);
  BatchSampler sampler(53, 10, BatchRule::ShuffledEpochs, rng);
  std::vector<std::vector<Index>> seen(1);
  std::vector<Index> sizes;
  const NextBatch next = [&]() -> const std::vector<Index>& {
    const std::vector<Index>& batch = sampler.next();
    seen.back().insert(seen.back().end(), batch.begin(), batch.end());
    sizes.push_back(Index(batch.size()));
    return batch;
  };
  int epochs_seen = 0;
  TrainingHooks<double> hooks;
  hooks.observer = [&](TrainingEvent e, const TrainingHistory& h) {
    if (e != TrainingEvent::Epoch) return;
    ++epochs_seen;
    CHECK(h.epoch_loss.size() == std::size_t(epochs_seen));
    seen.emplace_back();
  };
  EpochOptions o = three_epochs(sampler, 10);
  REQUIRE(o.batches_per_epoch == 6);
  const TrainingHistory h = train_epochs<double>(net, loss, sgd, next, {train.x, train.labels},
                                                 {validation.x, validation.labels}, {test.x, test.labels}, o, hooks);
  CHECK(epochs_seen == 3);
  REQUIRE(seen.size() == 4);
  for (int e = 0; e < 3; ++e) {
    std::vector<Index> visited = seen[std::size_t(e)];
    std::sort(visited.begin(), visited.end());
    std::vector<Index> all(53);
    std::iota(all.begin(), all.end(), Index(0));
    CHECK_MESSAGE(visited == all, "epoch " << e + 1 << " did not visit every sample exactly once");
  }
  CHECK(h.steps() == 18);
  CHECK(h.epoch_end_step == std::vector<double>{6, 12, 18});
  CHECK(h.test_step == std::vector<double>{6, 12, 18});
  CHECK(h.validation_accuracy.size() == 3);
  CHECK(h.validation_loss.size() == 3);
  // The epoch loss is the mean over the epoch's samples: batches of 10, 10, 10, 10, 10 and 3.
  for (std::size_t e = 0; e < 3; ++e) {
    double sum = 0, count = 0;
    for (std::size_t s = 6 * e; s < 6 * e + 6; ++s) sum += h.loss[s] * double(sizes[s]), count += double(sizes[s]);
    CHECK(count == 53);
    CHECK(h.epoch_loss[e] == doctest::Approx(sum / count).epsilon(1e-12));
  }
  CHECK(h.final_test_accuracy() > 0.9);

  SUBCASE("test_every_epoch = false tests after the last epoch only") {
    o.test_every_epoch = false;
    seen.assign(1, {});
    const TrainingHistory last = train_epochs<double>(net, loss, sgd, next, {train.x, train.labels}, {},
                                                      {test.x, test.labels}, o);
    CHECK(last.test_step == std::vector<double>{18});
    CHECK(last.validation_accuracy.empty());
  }
}

TEST_CASE("a NaN or Inf loss stops training with a message naming the step") {
  Blobs train = make_blobs(30, 1);
  const SoftmaxCrossEntropy<double> loss;
  IterationOptions o;
  o.iterations = 10;
  o.batch_size = 2;
  o.learning_rate = 0.1;

  SUBCASE("NaN in the inputs reaches the loss at step 3") {
    train.x(5, 2) = std::numeric_limits<double>::quiet_NaN();
    Network<double> net = linear_net(7);
    Sgd<double> sgd(net.parameters(), 0.01);
    int call = 0;
    std::vector<Index> batch;
    const NextBatch next = [&]() -> const std::vector<Index>& {
      batch = ++call < 3 ? std::vector<Index>{0, 1} : std::vector<Index>{4, 5};
      return batch;
    };
    std::string message;
    try {
      train_iterations<double>(net, loss, sgd, next, {train.x, train.labels}, {}, {}, o);
    } catch (const TrainingDiverged& e) {
      message = e.what();
    }
    CHECK(message.find("diverged at step 3") != std::string::npos);
    CHECK(message.find("nan") != std::string::npos);
    CHECK(message.find("learning rate (now 0.1)") != std::string::npos);
    CHECK(call == 3);  // it stopped there
  }

  SUBCASE("a probability of exactly 0 makes the loss +Inf in epoch 2; the message names the epoch") {
    // Softmax output, cross-entropy without eps: class 0 gets logit 1000·Σx (≈ 3000), so the
    // other classes get probability exp(−3000) = 0 and a label 1 costs −log 0 = +Inf.
    Network<double> net;
    Dense<double>& dense = net.emplace<Dense<double>>(4, 3);
    dense.weights().setZero();
    dense.weights().block(0, 0, 4, 1).setConstant(1000);
    net.emplace<Softmax<double>>(3);
    const CrossEntropy<double> no_eps(0.0);
    Sgd<double> sgd(net.parameters(), 0.01);
    REQUIRE(train.labels(0) == 0);
    REQUIRE(train.labels(1) == 1);
    int call = 0;
    std::vector<Index> batch;
    const NextBatch next = [&]() -> const std::vector<Index>& {
      batch = {++call == 1 ? Index(0) : Index(1)};  // epoch 1: a label 0 (loss 0); epoch 2: a label 1
      return batch;
    };
    EpochOptions e;
    e.epochs = 3;
    e.batches_per_epoch = 1;
    e.batch_size = 1;
    e.learning_rate = 0.01;
    std::string message;
    try {
      train_epochs<double>(net, no_eps, sgd, next, {train.x, train.labels}, {}, {}, e);
    } catch (const TrainingDiverged& error) {
      message = error.what();
    }
    INFO(message);
    CHECK(message.find("training diverged at step 2 (epoch 2): the cross_entropy loss is inf") != std::string::npos);
    CHECK(call == 2);
  }
}

TEST_CASE("bad input is refused with a message naming the value or the shapes") {
  const Blobs train = make_blobs(20, 1);
  const SoftmaxCrossEntropy<double> loss;
  Network<double> net = linear_net(7);
  Sgd<double> sgd(net.parameters(), 0.01);
  IterationOptions o;
  o.iterations = 3;
  o.batch_size = 4;
  const LabeledData<double> set(train.x, train.labels);

  std::vector<Index> outside = {0, 20};
  const NextBatch bad = [&]() -> const std::vector<Index>& { return outside; };
  CHECK_THROWS_WITH_AS(train_iterations<double>(net, loss, sgd, bad, set, {}, {}, o),
                       "training batch: sample index 20 at position 1 is outside 0..19", std::out_of_range);

  std::vector<Index> too_many(5, 0);
  const NextBatch big = [&]() -> const std::vector<Index>& { return too_many; };
  CHECK_THROWS_WITH_AS(train_iterations<double>(net, loss, sgd, big, set, {}, {}, o),
                       "training: the batch rule gave 5 samples, expected 1..4", std::invalid_argument);

  CHECK_THROWS_AS(train_iterations<double>(net, loss, sgd, NextBatch(), set, {}, {}, o), std::invalid_argument);

  Network<double> wide;
  wide.emplace<Dense<double>>(5, 3);
  Sgd<double> sgd5(wide.parameters(), 0.01);
  FixedBatch fixed(4);
  CHECK_THROWS_WITH_AS(train_iterations<double>(wide, loss, sgd5, fixed.callable(), set, {}, {}, o),
                       "training input X is 20×4, expected N×5", std::invalid_argument);
  // The same check on a set held as bytes, on one network and on data-parallel replicas.
  const ByteMatrix bytes = ByteMatrix::Zero(20, 4);
  const LabeledData<double> byte_set(ByteRows<double>(bytes), train.labels);
  CHECK_THROWS_WITH_AS(train_iterations<double>(wide, loss, sgd5, fixed.callable(), byte_set, {}, {}, o),
                       "training input X is 20×4, expected N×5", std::invalid_argument);
  DataParallel<double> replicas(wide, 2);
  const std::vector<Index> rows = {0, 1, 2, 3};
  CHECK_THROWS_WITH_AS(replicas.forward_backward_rows(ByteRows<double>(bytes), rows.data(), 4,
                                                      train.labels.head(4), loss),
                       "data-parallel: input X is 20×4, expected N×5", std::invalid_argument);

  o.iterations = 0;
  CHECK_THROWS_AS(train_iterations<double>(net, loss, sgd, fixed.callable(), set, {}, {}, o), std::invalid_argument);

  Labels short_labels(19);
  CHECK_THROWS_WITH_AS(LabeledData<double>(train.x, short_labels),
                       "labeled data: 19 labels for 20 rows (one per row)", std::invalid_argument);
}

TEST_CASE("float is instantiated too: the loops train a float network") {
  const Blobs blobs = make_blobs(150, 1);
  const Matrix<float> x = blobs.x.cast<float>();
  Network<float> net;
  RandomState rng(3);
  initialize(net.emplace<Dense<float>>(4, 3), rng, {InitScheme::Normal, 0.0, 0.1});
  const SoftmaxCrossEntropy<float> loss;
  Sgd<float> sgd(net.parameters(), 0.01);
  BatchSampler sampler(150, 15, BatchRule::ShuffledEpochs, rng);
  const EpochOptions o = three_epochs(sampler, 15);
  const TrainingHistory h =
      train_epochs<float>(net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); },
                          {x, blobs.labels}, {}, {x, blobs.labels}, o);
  CHECK(h.steps() == 30);
  CHECK(h.final_test_accuracy() > 0.95);
}

TEST_CASE("data_parallel = 2 or 3 trains as the plain loop does: same losses, accuracies and parameters") {
  const Blobs train = make_blobs(53, 1), test = make_blobs(30, 2);
  const SoftmaxCrossEntropy<double> loss;
  const auto run = [&](int threads, Network<double>& net) {
    Sgd<double> sgd(net.parameters(), 0.01);
    RandomState rng(3);
    BatchSampler sampler(53, 10, BatchRule::ShuffledEpochs, rng);  // batches of 10 and a last one of 3
    const EpochOptions o = three_epochs(sampler, 10, threads);
    return train_epochs<double>(
        net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); }, {train.x, train.labels}, {},
        {test.x, test.labels}, o);
  };
  Network<double> plain_net = linear_net(7);
  const TrainingHistory plain = run(1, plain_net);
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    Network<double> net = linear_net(7);
    const TrainingHistory parallel = run(threads, net);
    REQUIRE(parallel.steps() == plain.steps());
    for (Index s = 0; s < plain.steps(); ++s) {
      CHECK(parallel.loss[std::size_t(s)] == doctest::Approx(plain.loss[std::size_t(s)]).epsilon(1e-12));
      CHECK(parallel.batch_accuracy[std::size_t(s)] == plain.batch_accuracy[std::size_t(s)]);  // the whole batch's
    }
    CHECK(parallel.test_accuracy == plain.test_accuracy);
    CHECK((net.layer(0).parameters()[0].value->array() - plain_net.layer(0).parameters()[0].value->array())
              .abs()
              .maxCoeff() < 1e-12);
  }
}

TEST_CASE("a set of bytes trains and evaluates as its converted matrix does, bit for bit") {
  // The blobs as bytes (x·40 + 128, clamped), and the matrix to_unit_scale + fixed normalisation
  // makes of them; the loops on unit_scale_rows of the same bytes must give identical numbers.
  const Blobs blobs = make_blobs(53, 1), test_blobs = make_blobs(30, 2);
  const auto to_bytes = [](const Matrix<double>& x) {
    PixelMatrix p(x.rows(), x.cols());
    for (Index r = 0; r < x.rows(); ++r)
      for (Index c = 0; c < x.cols(); ++c) p(r, c) = std::uint8_t(std::clamp(x(r, c) * 40 + 128, 0.0, 255.0));
    return p;
  };
  const PixelMatrix train_bytes = to_bytes(blobs.x), test_bytes = to_bytes(test_blobs.x);
  const Normalization n{0.4, 0.2};
  Matrix<double> train_x = to_unit_scale<double>(train_bytes), test_x = to_unit_scale<double>(test_bytes);
  normalize_fixed<double>(train_x, n);
  normalize_fixed<double>(test_x, n);
  const LabeledData<double> train_matrix(train_x, blobs.labels), test_matrix(test_x, test_blobs.labels);
  const LabeledData<double> train_rows(unit_scale_rows<double>(train_bytes, n), blobs.labels),
      test_rows(unit_scale_rows<double>(test_bytes, n), test_blobs.labels);
  CHECK(train_rows.size() == 53);
  CHECK(train_rows.cols() == 4);

  const SoftmaxCrossEntropy<double> loss;
  const auto run = [&](const LabeledData<double>& train, const LabeledData<double>& test, int threads,
                       bool transform, Network<double>& net) {
    Sgd<double> sgd(net.parameters(), 0.01);
    RandomState rng(3);
    BatchSampler sampler(53, 10, BatchRule::ShuffledEpochs, rng);
    EpochOptions o = three_epochs(sampler, 10, threads);
    o.eval_batch = 7;
    TrainingHooks<double> hooks;
    if (transform) hooks.transform = [](MatrixRef<double> x) { x.col(0) *= 2.0; };
    return train_epochs<double>(
        net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); }, train, test, test, o, hooks);
  };
  for (int threads : {1, 2}) {
    for (bool transform : {false, true}) {
      CAPTURE(threads);
      CAPTURE(transform);
      Network<double> from_matrix = linear_net(7), from_bytes = linear_net(7);
      const TrainingHistory a = run(train_matrix, test_matrix, threads, transform, from_matrix);
      const TrainingHistory b = run(train_rows, test_rows, threads, transform, from_bytes);
      CHECK(a.loss == b.loss);
      CHECK(a.batch_accuracy == b.batch_accuracy);
      CHECK(a.validation_loss == b.validation_loss);
      CHECK(a.test_loss == b.test_loss);
      CHECK(a.test_accuracy == b.test_accuracy);
      CHECK(*from_matrix.layer(0).parameters()[0].value == *from_bytes.layer(0).parameters()[0].value);
      CHECK(evaluate<double>(from_bytes, test_rows, 4, &loss).loss ==
            evaluate<double>(from_bytes, test_matrix, 4, &loss).loss);
    }
  }
  // Negative control: bytes read with another normalisation train to other numbers.
  Network<double> a_net = linear_net(7), b_net = linear_net(7);
  const LabeledData<double> shifted(unit_scale_rows<double>(train_bytes, Normalization{0.41, 0.2}), blobs.labels);
  CHECK(run(train_matrix, test_matrix, 1, false, a_net).loss != run(shifted, test_rows, 1, false, b_net).loss);
  // A set of bytes of the wrong width is refused, naming it.
  const PixelMatrix narrow = PixelMatrix::Zero(53, 3);
  const LabeledData<double> bad(unit_scale_rows<double>(narrow), blobs.labels);
  Network<double> net = linear_net(7);
  try {
    run(bad, test_rows, 1, false, net);
    FAIL("a 53×3 set was accepted by a 4-input network");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("53×3") != std::string::npos);
  }
  Labels too_few(52);
  CHECK_THROWS_AS(LabeledData<double>(unit_scale_rows<double>(train_bytes), too_few), std::invalid_argument);
}

namespace {

// A stand-in for the GPU (cuda/device_training.hpp): its own copy of the network and its own
// SGD, results held back until collect(), the host network updated only by update_host(). The
// loops must give exactly the plain run's history with it.
class DeferredStepper final : public Stepper<double> {
 public:
  DeferredStepper(Network<double>& host, Network<double> mirror, const Blobs& train, double lr, bool copy_back = true)
      : host_(host), mirror_(std::move(mirror)), sgd_(mirror_.parameters(), lr), train_(train), copy_back_(copy_back) {}

  void step(const std::vector<Index>& indices) override {
    const Index n = Index(indices.size());
    Matrix<double> x(n, 4);
    Labels labels(n);
    for (Index r = 0; r < n; ++r) {
      x.row(r) = train_.x.row(indices[std::size_t(r)]);
      labels(r) = train_.labels(indices[std::size_t(r)]);
    }
    // The host loop's step with plain SGD, bit for bit: the update fused into the backward
    // (Network::forward_backward_sgd); a step whose loss is made NaN is not applied.
    StepResult r;
    if (nan_at_step_ == ++steps_) {
      mirror_.forward(x);
      r.loss = std::numeric_limits<double>::quiet_NaN();
    } else {
      r.loss = mirror_.forward_backward_sgd(x, labels, loss_, sgd_.learning_rate());
    }
    r.accuracy = accuracy<double>(mirror_.output(), labels);  // before the update, as the host's
    r.rows = n;
    pending_.push_back(r);
  }
  void collect(std::vector<StepResult>& results) override {
    collected_sizes.push_back(pending_.size());
    results.insert(results.end(), pending_.begin(), pending_.end());
    pending_.clear();
  }
  void update_host() override {
    ++host_updates;
    if (!copy_back_) return;
    ParameterList<double> to = host_.parameters(), from = mirror_.parameters();
    for (std::size_t i = 0; i < to.size(); ++i) *to[i].value = *from[i].value;
  }
  bool deferred() const override { return true; }
  void set_learning_rate(double lr) override { sgd_.set_learning_rate(lr); }
  double learning_rate() const override { return sgd_.learning_rate(); }

  std::vector<std::size_t> collected_sizes;
  int host_updates = 0;
  long nan_at_step_ = -1;

 private:
  Network<double>& host_;
  Network<double> mirror_;
  Sgd<double> sgd_;
  const Blobs& train_;
  SoftmaxCrossEntropy<double> loss_;
  bool copy_back_;
  long steps_ = 0;
  std::vector<StepResult> pending_;
};

}  // namespace

TEST_CASE("a stepper of its own (deferred results): the same history as the host loop, passes on updated weights") {
  const Blobs train = make_blobs(120, 1), test = make_blobs(60, 2);
  const SoftmaxCrossEntropy<double> loss;
  EpochOptions e;
  e.epochs = 3;
  e.batches_per_epoch = 6;
  e.batch_size = 20;
  e.learning_rate = 0.2;

  auto run = [&](Network<double>& net, Stepper<double>* stepper) {
    Sgd<double> sgd(net.parameters(), 0.01);
    RandomState rng(11);
    BatchSampler sampler(120, 20, BatchRule::ShuffledEpochs, rng);
    const NextBatch next = [&]() -> const std::vector<Index>& { return sampler.next(); };
    TrainingHooks<double> hooks;
    hooks.stepper = stepper;
    std::vector<Index> steps_at_events;
    hooks.observer = [&](TrainingEvent event, const TrainingHistory& h) {
      if (event == TrainingEvent::Step) steps_at_events.push_back(h.steps());
    };
    TrainingHistory h = train_epochs<double>(net, loss, sgd, next, {train.x, train.labels}, {}, {test.x, test.labels},
                                             e, hooks);
    CHECK(steps_at_events.size() == 18);  // one Step event per step, deferred or not
    return h;
  };
  Network<double> plain_net = linear_net(3);
  const TrainingHistory plain = run(plain_net, nullptr);

  Network<double> host = linear_net(3);
  DeferredStepper deferred(host, linear_net(3), train, 0.01);
  const TrainingHistory h = run(host, &deferred);
  CHECK(h.loss == plain.loss);
  CHECK(h.batch_accuracy == plain.batch_accuracy);
  CHECK(h.epoch_loss == plain.epoch_loss);
  CHECK(h.epoch_accuracy == plain.epoch_accuracy);
  CHECK(h.test_loss == plain.test_loss);  // the passes saw the trained weights
  CHECK(h.test_accuracy == plain.test_accuracy);
  CHECK(deferred.learning_rate() == 0.2);  // options.learning_rate went to the stepper
  // Collected at each epoch's end (6 steps), nothing new at the test pass or the end.
  CHECK(deferred.collected_sizes == std::vector<std::size_t>{6, 0, 6, 0, 6, 0, 0});
  // The host network ends with the trained parameters.
  CHECK(*host.parameters()[0].value == *plain_net.parameters()[0].value);

  SUBCASE("negative control: a stepper that never updates the host gives other test results") {
    Network<double> stale = linear_net(3);
    DeferredStepper lazy(stale, linear_net(3), train, 0.01, /*copy_back=*/false);
    const TrainingHistory s = run(stale, &lazy);
    CHECK(s.loss == plain.loss);
    CHECK(s.test_loss != plain.test_loss);
  }
  SUBCASE("a NaN loss among deferred results stops training naming its step and epoch") {
    Network<double> net = linear_net(3);
    DeferredStepper nan_stepper(net, linear_net(3), train, 0.01);
    nan_stepper.nan_at_step_ = 9;
    std::string message;
    try {
      run(net, &nan_stepper);
    } catch (const TrainingDiverged& error) {
      message = error.what();
    }
    CHECK(message.find("training diverged at step 9 (epoch 2)") != std::string::npos);
  }
  SUBCASE("a stepper takes no batch transform and no data_parallel") {
    Network<double> net = linear_net(3);
    DeferredStepper other(net, linear_net(3), train, 0.01);
    Sgd<double> sgd(net.parameters(), 0.01);
    FixedBatch fixed(20);
    TrainingHooks<double> hooks;
    hooks.stepper = &other;
    hooks.transform = [](MatrixRef<double>) {};
    CHECK_THROWS_WITH_AS(train_epochs<double>(net, loss, sgd, fixed.callable(), {train.x, train.labels}, {}, {}, e,
                                              hooks),
                         "training: a batch transform runs on the host only; this stepper takes none",
                         std::invalid_argument);
  }
}

// DistributedStepper (eigennet/mpi/distributed.hpp) under `mpirun -np 2`: every rank trains with
// the stepper and, on its own, the same run in one process (the plain loop); the two must agree
// step by step to rounding, since the batch's gradient is Σ_r w_r·dθ_r. Small random data.
//
// - float and double, a mean loss (weights n_r/N) and a summed one (weights 1), batches that do
//   not split evenly (37 rows) and shuffled epochs whose last batch is short;
// - the ranks' networks stay bit-identical (nothing but gradients is ever sent);
// - one rank (MPI_COMM_SELF), and a batch of one row on two ranks (the second rank's block is
//   empty), are the single-process run bit for bit;
// - negative control: the same comparison rejects a run whose sum is mis-weighted (weights 1
//   for a mean loss, i.e. twice the gradient on two ranks);
// - a run that diverges stops at the same step on every rank.
//
// Its own main: MPI_Init before doctest, MPI_Finalize after; a failure on any rank makes that
// rank's exit non-zero, and mpirun's with it.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/data/batching.hpp"
#include "eigennet/eigennet.hpp"
#include "eigennet/mpi/distributed.hpp"
#include "eigennet/threads.hpp"
#include "support/random_data.hpp"

using namespace eigennet;

namespace {

constexpr Index kInputs = 12, kHidden = 16, kClasses = 5, kSamples = 200;

// A mean loss that claims to be summed: each rank's block then weighs 1 instead of n_r/N (the
// negative control's mis-weighted sum).
template <typename Scalar>
class MisweightedLoss final : public Loss<Scalar> {
 public:
  std::string name() const override { return inner_.name(); }
  bool averages_over_batch() const override { return false; }
  Scalar value(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t) const override { return inner_.value(o, t); }
  void gradient(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t, MatrixRef<Scalar> d) const override {
    inner_.gradient(o, t, d);
  }
  Scalar value_labels(ConstMatrixRef<Scalar> o, ConstLabelsRef l) const override { return inner_.value_labels(o, l); }
  void gradient_labels(ConstMatrixRef<Scalar> o, ConstLabelsRef l, MatrixRef<Scalar> d) const override {
    inner_.gradient_labels(o, l, d);
  }

 private:
  SoftmaxCrossEntropy<Scalar> inner_;
};

// A summed loss on labels (the library's squared errors take real targets only): N times the
// mean cross-entropy, so each block weighs 1.
template <typename Scalar>
class SummedCrossEntropy final : public Loss<Scalar> {
 public:
  std::string name() const override { return "summed_cross_entropy"; }
  bool averages_over_batch() const override { return false; }
  Scalar value(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t) const override {
    return Scalar(o.rows()) * inner_.value(o, t);
  }
  void gradient(ConstMatrixRef<Scalar> o, ConstMatrixRef<Scalar> t, MatrixRef<Scalar> d) const override {
    inner_.gradient(o, t, d);
    d *= Scalar(o.rows());
  }
  Scalar value_labels(ConstMatrixRef<Scalar> o, ConstLabelsRef l) const override {
    return Scalar(o.rows()) * inner_.value_labels(o, l);
  }
  void gradient_labels(ConstMatrixRef<Scalar> o, ConstLabelsRef l, MatrixRef<Scalar> d) const override {
    inner_.gradient_labels(o, l, d);
    d *= Scalar(o.rows());
  }

 private:
  SoftmaxCrossEntropy<Scalar> inner_;
};

enum class LossKind { Mean, Summed, Misweighted };

template <typename Scalar>
std::unique_ptr<Loss<Scalar>> make_loss(LossKind kind) {
  if (kind == LossKind::Summed) return std::make_unique<SummedCrossEntropy<Scalar>>();
  if (kind == LossKind::Misweighted) return std::make_unique<MisweightedLoss<Scalar>>();
  return std::make_unique<SoftmaxCrossEntropy<Scalar>>();
}

// What one run gives: its step losses, its final parameters (flattened) and its test accuracy.
struct Run {
  std::vector<double> loss;
  std::vector<double> parameters;
  double test_accuracy = 0;
};

struct Setup {
  LossKind loss = LossKind::Mean;
  Index batch = 37;
  BatchRule rule = BatchRule::WithReplacement;
  Index steps = 30;         // WithReplacement: steps; ShuffledEpochs: 2 epochs
  double learning_rate = 0.1;
};

// The same run on every rank: weights from RandomState(7), data from seeds 1 and 2, batches from
// the run's RandomState. comm: null for the plain single-process loop, else the stepper's ranks.
template <typename Scalar>
Run train(const Setup& s, const MPI_Comm* comm) {
  const Matrix<Scalar> x = eigennet_test::random_matrix<Scalar>(kSamples, kInputs, 1);
  const Labels labels = eigennet_test::random_labels(kSamples, kClasses, 2);
  const LabeledData<Scalar> data(x, labels);
  RandomState rng(7);
  Network<Scalar> net;
  initialize(net.template emplace<Dense<Scalar>>(kInputs, kHidden), rng, {InitScheme::Normal, 0.0, 0.3});
  net.template emplace<Relu<Scalar>>(kHidden);
  initialize(net.template emplace<Dense<Scalar>>(kHidden, kClasses), rng, {InitScheme::Normal, 0.0, 0.3});
  const std::unique_ptr<Loss<Scalar>> loss = make_loss<Scalar>(s.loss);
  Momentum<Scalar> optimizer(net.parameters(), s.learning_rate, 0.9);
  BatchSampler sampler(kSamples, s.batch, s.rule, rng);
  const NextBatch next = [&sampler]() -> const std::vector<Index>& { return sampler.next(); };

  std::unique_ptr<mpi::DistributedStepper<Scalar>> stepper;
  TrainingHooks<Scalar> hooks;
  if (comm) {
    stepper = std::make_unique<mpi::DistributedStepper<Scalar>>(net, *loss, optimizer, data, s.batch, *comm);
    hooks.stepper = stepper.get();
  }
  TrainingHistory history;
  if (s.rule == BatchRule::ShuffledEpochs) {
    EpochOptions o;
    o.epochs = 2;
    o.batches_per_epoch = (kSamples + s.batch - 1) / s.batch;
    o.batch_size = s.batch;
    history = train_epochs<Scalar>(net, *loss, optimizer, next, data, {}, data, o, hooks);
  } else {
    IterationOptions o;
    o.iterations = s.steps;
    o.batch_size = s.batch;
    o.test_every = 0;
    history = train_iterations<Scalar>(net, *loss, optimizer, next, data, {}, data, o, hooks);
  }
  Run run{history.loss, {}, history.final_test_accuracy()};
  for (const auto& p : net.parameters())
    for (Index i = 0; i < p.value->size(); ++i) run.parameters.push_back(double(p.value->data()[i]));
  return run;
}

// Largest relative difference of the step losses, and of the parameters (relative to the
// largest parameter).
struct Difference {
  double loss = 0, parameters = 0;
};
Difference difference(const Run& a, const Run& b) {
  REQUIRE(a.loss.size() == b.loss.size());
  REQUIRE(a.parameters.size() == b.parameters.size());
  Difference d;
  for (std::size_t i = 0; i < a.loss.size(); ++i)
    d.loss = std::max(d.loss, std::abs(a.loss[i] - b.loss[i]) / std::max(1e-30, std::abs(a.loss[i])));
  double scale = 0;
  for (double v : a.parameters) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.parameters.size(); ++i)
    d.parameters = std::max(d.parameters, std::abs(a.parameters[i] - b.parameters[i]) / scale);
  return d;
}

// Rounding only: float's sums regrouped (one block's GEMM sum per rank, then the ranks' sum)
// differ by a few ulps per step and drift a little over the run; double by ~1e-15.
template <typename Scalar>
double tolerance() {
  return sizeof(Scalar) == 4 ? 1e-4 : 1e-10;
}

template <typename Scalar>
bool agrees(const Run& a, const Run& b) {
  const Difference d = difference(a, b);
  MESSAGE("max relative difference: losses " << d.loss << ", parameters " << d.parameters << " (tolerance "
                                               << tolerance<Scalar>() << ")");
  return d.loss <= tolerance<Scalar>() && d.parameters <= tolerance<Scalar>() &&
         std::abs(a.test_accuracy - b.test_accuracy) <= 0.001 + 1e-12;
}

// True when every rank of comm holds exactly these values.
bool same_on_every_rank(const std::vector<double>& values, MPI_Comm comm) {
  std::vector<double> low(values.size()), high(values.size());
  MPI_Allreduce(values.data(), low.data(), int(values.size()), MPI_DOUBLE, MPI_MIN, comm);
  MPI_Allreduce(values.data(), high.data(), int(values.size()), MPI_DOUBLE, MPI_MAX, comm);
  return low == values && high == values;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

template <typename Scalar>
void check_against_single_process(const Setup& s) {
  const MPI_Comm world = MPI_COMM_WORLD;
  const Run distributed = train<Scalar>(s, &world);
  const Run single = train<Scalar>(s, nullptr);
  CHECK(distributed.loss.size() == single.loss.size());
  CHECK(agrees<Scalar>(distributed, single));
  CHECK(same_on_every_rank(distributed.parameters, world));
  CHECK(same_on_every_rank(distributed.loss, world));
}

}  // namespace

TEST_CASE("the job has two or more ranks (the tests below compare a split batch with one process)") {
  CHECK(world_size() >= 2);
}

TEST_CASE_TEMPLATE("a mean loss: the distributed run is the single-process run to rounding", Scalar, float, double) {
  check_against_single_process<Scalar>(Setup{});
}

TEST_CASE_TEMPLATE("a summed loss (blocks weigh 1) agrees too", Scalar, float, double) {
  Setup s;
  s.loss = LossKind::Summed;
  s.learning_rate = 0.002;
  check_against_single_process<Scalar>(s);
}

TEST_CASE_TEMPLATE("shuffled epochs with a short last batch agree too", Scalar, float, double) {
  Setup s;
  s.rule = BatchRule::ShuffledEpochs;
  s.batch = 64;  // 200 = 3×64 + 8: the last batch of each epoch has 8 rows
  check_against_single_process<Scalar>(s);
}

TEST_CASE_TEMPLATE("one rank, and a one-row batch on every rank, are the single-process run bit for bit", Scalar,
                   float, double) {
  const MPI_Comm self = MPI_COMM_SELF, world = MPI_COMM_WORLD;
  const Run single = train<Scalar>(Setup{}, nullptr);
  const Run alone = train<Scalar>(Setup{}, &self);
  CHECK(alone.loss == single.loss);
  CHECK(alone.parameters == single.parameters);

  Setup one_row;
  one_row.batch = 1;  // rank 0 takes the row with weight 1, the other ranks' blocks are empty
  const Run split = train<Scalar>(one_row, &world);
  const Run plain = train<Scalar>(one_row, nullptr);
  CHECK(split.loss == plain.loss);
  CHECK(split.parameters == plain.parameters);
}

TEST_CASE_TEMPLATE("negative control: a mis-weighted sum fails the same comparison", Scalar, float, double) {
  Setup s;
  s.loss = LossKind::Misweighted;  // the ranks' gradients summed with weight 1: R times the batch's
  const MPI_Comm world = MPI_COMM_WORLD;
  const Run wrong = train<Scalar>(s, &world);
  s.loss = LossKind::Mean;
  const Run single = train<Scalar>(s, nullptr);
  CHECK_FALSE(agrees<Scalar>(wrong, single));
}

TEST_CASE("a diverging run stops at the same step on every rank") {
  Setup s;
  s.learning_rate = 1e30;
  const MPI_Comm world = MPI_COMM_WORLD;
  std::string message;
  try {
    train<float>(s, &world);
  } catch (const TrainingDiverged& e) {
    message = e.what();
  }
  REQUIRE_MESSAGE(!message.empty(), "the run did not diverge");
  MESSAGE(message);
  const double step = std::stod(message.substr(message.find("at step ") + 8));
  CHECK(same_on_every_rank({step}, world));
}

int main(int argc, char** argv) {
  mpi::Environment environment(argc, argv);
  set_thread_count(1);  // one thread per rank: the ranks share the cores
  doctest::Context context(argc, argv);
  return context.run();
}

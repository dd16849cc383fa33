// Training loops in the notebook's shape, and evaluation (batched forward + arg-max).
//
// Two loops share one step: gather the batch's rows, forward, loss, backward, update.
// - train_iterations: a fixed number of steps, test accuracy every k steps and after the
//   last one (the notebook: 400 iterations, test every 10).
// - train_epochs: epochs of batches with a validation pass (and a test pass) after each.
// Which samples form each batch is not decided here: the caller passes a NextBatch callable
// (e.g. the data layer's BatchSampler::next bound to the run's RandomState), so the loops
// know nothing of file formats or batch rules.
//
// Where the steps run is a Stepper: by default the network itself on this thread (or
// DataParallel's replicas); a GPU mirror of it (cuda/device_training.hpp) plugs in the same way.
// Either way the loops draw the batches, keep the history and run the test passes on the host
// network, so a device run prints and logs exactly what a host run does.
//
// Both loops stop with TrainingDiverged as soon as a step's loss is NaN or ±Inf (that step's
// update is not applied). Buffers are allocated before the first step; a step allocates nothing
// (nor does a test pass).
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/copy_rows.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

// The loss of a step was NaN or ±Inf. The message names the step, the epoch, the learning
// rate and what to try.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Inputs (N×D, one sample per row) and their class labels (N), borrowed, not copied. The inputs
// are a Scalar matrix, or bytes read as Scalar while each batch is gathered (ByteRows,
// copy_rows.hpp: a quarter of the memory, and of the memory a gather reads).
// Default-constructed: no data (an optional validation or test set left out).
template <typename Scalar>
struct LabeledData {
  LabeledData() = default;
  // Throw std::invalid_argument unless the inputs have one row per label.
  LabeledData(const Matrix<Scalar>& x, const Labels& labels);
  LabeledData(const ByteRows<Scalar>& bytes, const Labels& labels);

  const Matrix<Scalar>* x = nullptr;  // the inputs as a matrix; null where they are bytes
  ByteRows<Scalar> bytes;             // the inputs as bytes, where x is null
  const Labels* labels = nullptr;

  bool empty() const { return labels == nullptr; }
  Index size() const { return x ? x->rows() : bytes.rows(); }
  Index cols() const { return x ? x->cols() : bytes.cols(); }
  // out.row(i) = input row begin + i, for i < count (rows in range, unchecked).
  void copy_inputs(Index begin, Index count, MatrixRef<Scalar> out) const;
  // out.row(i) = input row indices[i], for i < count (copy_rows; indices valid, unchecked).
  void gather_inputs(const Index* indices, Index count, MatrixRef<Scalar> out) const;
  // The inputs as a Scalar matrix: x itself, or the bytes converted into `storage`.
  const Matrix<Scalar>& matrix(Matrix<Scalar>& storage) const;
  // f(inputs) with the inputs as they are held, a ConstMatrixRef<Scalar> of x or the ByteRows:
  // for what takes either (copy_rows, DataParallel::forward_backward_rows, require_cols).
  template <typename F>
  decltype(auto) visit_inputs(F&& f) const {
    return x ? f(ConstMatrixRef<Scalar>(*x)) : f(bytes);
  }
};

// The sample indices (rows of the training set) of the next batch. The reference must stay
// valid until the next call. Example: [&]() -> const std::vector<Index>& { return sampler.next(); }
using NextBatch = std::function<const std::vector<Index>&()>;

// Optional in-place change of every batch before its forward pass, in training and in
// evaluation (e.g. per-batch normalisation). Empty: batches are used as gathered.
template <typename Scalar>
using BatchTransform = std::function<void(MatrixRef<Scalar>)>;

// What the loops record. Accuracies are fractions in [0, 1]. Steps count from 1.
struct TrainingHistory {
  // One entry per step.
  std::vector<double> loss;            // the batch's loss
  std::vector<double> batch_accuracy;  // accuracy on the batch, before the update
  // One entry per test pass: the steps done when it ran, and the result.
  std::vector<double> test_step;
  std::vector<double> test_accuracy;
  std::vector<double> test_loss;
  // train_epochs only, one entry per epoch.
  std::vector<double> epoch_end_step;       // steps done at the end of the epoch
  std::vector<double> epoch_loss;           // mean batch loss over the epoch (weighted by batch size)
  std::vector<double> epoch_accuracy;       // fraction of the epoch's samples classified right
  std::vector<double> validation_loss;      // empty without a validation set
  std::vector<double> validation_accuracy;  // empty without a validation set

  Index steps() const { return static_cast<Index>(loss.size()); }
  // The last test accuracy; NaN when no test pass ran.
  double final_test_accuracy() const {
    return test_accuracy.empty() ? std::numeric_limits<double>::quiet_NaN() : test_accuracy.back();
  }
};

// Called after every step, after every test pass and after every epoch; read the newest
// entries of the history (progress bars, logs).
enum class TrainingEvent { Step, Test, Epoch };
using TrainingObserver = std::function<void(TrainingEvent, const TrainingHistory&)>;

// What a step reports: the batch's loss and its accuracy before the update, and its rows.
struct StepResult {
  double loss = 0;
  double accuracy = 0;
  Index rows = 0;
};

// Runs the loops' training steps somewhere other than on the host network (e.g. on a GPU). A
// step may run asynchronously; the loops collect its result before any test pass, at every
// epoch's end and at the end of training, and after every step where deferred() is false.
template <typename Scalar>
class Stepper {
 public:
  virtual ~Stepper() = default;
  // Starts one training step on the training-set rows `indices` (forward, loss, backward,
  // update; no update when the loss is NaN or ±Inf, nor in any later step).
  virtual void step(const std::vector<Index>& indices) = 0;
  // Appends the results of the steps since the last call, in order, waiting for them.
  virtual void collect(std::vector<StepResult>& results) = 0;
  // Copies the trained parameters into the host network (before its test passes).
  virtual void update_host() = 0;
  // True when step() returns before the step is done.
  virtual bool deferred() const = 0;
  // ε of the update, for the next steps; and its current value.
  virtual void set_learning_rate(double learning_rate) = 0;
  virtual double learning_rate() const = 0;
};

// A stepper whose step is done when step() returns, on the host network (the loops' default;
// mpi::DistributedStepper): it keeps the step's result for collect() and runs the optimizer's
// update, skipped from the first NaN or ±Inf loss on.
template <typename Scalar>
class SynchronousStepper : public Stepper<Scalar> {
 public:
  void collect(std::vector<StepResult>& results) final;
  void update_host() final {}  // the steps train the host network itself
  bool deferred() const final { return false; }
  void set_learning_rate(double learning_rate) final { optimizer_.set_learning_rate(learning_rate); }
  double learning_rate() const final { return optimizer_.learning_rate(); }

 protected:
  // optimizer: borrowed, it must outlive the stepper.
  explicit SynchronousStepper(Optimizer<Scalar>& optimizer) : optimizer_(optimizer) {}
  // The end of every step(): keeps its result and updates the parameters unless this step's or
  // an earlier step's loss is not finite, or the step already did (fused_update).
  void finish_step(const StepResult& result, bool fused_update = false);
  // ε where the optimizer is plain SGD and no loss has diverged, so that the step may fuse the
  // update into its backward (Network::forward_backward_sgd, which skips it for a NaN loss).
  std::optional<double> fused_sgd_rate() const {
    return diverged_ ? std::nullopt : optimizer_.plain_sgd_rate();
  }

 private:
  Optimizer<Scalar>& optimizer_;
  StepResult result_;
  bool pending_ = false, diverged_ = false;
};

template <typename Scalar>
struct TrainingHooks {
  BatchTransform<Scalar> transform;  // may be empty
  TrainingObserver observer;         // may be empty
  // Where the steps run; null: on the network (this thread, or options.data_parallel replicas),
  // updated by the optimizer. A stepper of its own runs its own update (the optimizer is then
  // not used) and takes no batch transform.
  Stepper<Scalar>* stepper = nullptr;
};

// learning_rate in both option sets: unset (the default), the optimizer trains at its own rate;
// set, the loop calls optimizer.set_learning_rate with it before the first step (it must be
// positive and finite).
struct IterationOptions {
  Index iterations = 400;      // steps
  Index batch_size = 40;       // the largest batch next_batch returns (buffers are sized for it)
  std::optional<double> learning_rate;
  Index test_every = 10;       // test pass every k steps and after the last; 0: after the last only
  Index eval_batch = 1000;     // rows per forward pass in a test pass
  int data_parallel = 1;       // > 1: steps by DataParallel on this many threads (data_parallel.hpp)
};

struct EpochOptions {
  Index epochs = 5;
  Index batches_per_epoch = 0; // next_batch calls per epoch (BatchSampler::batches_per_epoch())
  Index batch_size = 100;      // the largest batch next_batch returns
  std::optional<double> learning_rate;
  bool test_every_epoch = true;  // test pass after every epoch; false: after the last only
  Index eval_batch = 1000;
  int data_parallel = 1;         // > 1: steps by DataParallel on this many threads (data_parallel.hpp)
};

// Copies the samples at indices[begin, begin + count) (indices checked by the loops) into rows
// 0..count−1 of x and labels, which hold at least count rows (sized once, for the largest batch,
// or a network's input_buffer).
template <typename Scalar>
void gather_batch(const LabeledData<Scalar>& data, const std::vector<Index>& indices, Index begin, Index count,
                  MatrixRef<Scalar> x, Labels& labels);
// Its labels only.
template <typename Scalar>
void gather_batch_labels(const LabeledData<Scalar>& data, const std::vector<Index>& indices, Index begin, Index count,
                         Labels& labels);

// Row-wise arg-max of scores (N×K; logits, probabilities or log-probabilities alike) compared
// with labels (N): the fraction right. Ties go to the first maximum (numpy's argmax).
template <typename Scalar>
double accuracy(ConstMatrixRef<Scalar> scores, ConstLabelsRef labels);

struct Evaluation {
  double accuracy = 0;                                    // fraction right
  double loss = std::numeric_limits<double>::quiet_NaN(); // mean loss; NaN without a loss
  Index samples = 0;
};

// Forward passes over all of data in batches of batch_size rows; the loss (averaged over all
// samples) only when a loss is given. Rows to transform, and bytes, are copied into the
// network's input buffer (grown if the network was reserved for fewer rows).
template <typename Scalar>
Evaluation evaluate(Network<Scalar>& net, const LabeledData<Scalar>& data, Index batch_size,
                    const Loss<Scalar>* loss = nullptr, const BatchTransform<Scalar>& transform = {});

// The notebook's loop: options.iterations steps on batches from next_batch; a test pass on
// `test` every options.test_every steps and after the last one (none if test is empty). With
// a validation set, a validation pass runs with every test pass.
template <typename Scalar>
TrainingHistory train_iterations(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
                                 const NextBatch& next_batch, const LabeledData<Scalar>& train,
                                 const LabeledData<Scalar>& validation, const LabeledData<Scalar>& test,
                                 const IterationOptions& options, const TrainingHooks<Scalar>& hooks = {});

// options.epochs epochs of options.batches_per_epoch batches each; after every epoch a
// validation pass (if a validation set is given) and a test pass (every epoch, or after the
// last only; none if test is empty).
template <typename Scalar>
TrainingHistory train_epochs(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
                             const NextBatch& next_batch, const LabeledData<Scalar>& train,
                             const LabeledData<Scalar>& validation, const LabeledData<Scalar>& test,
                             const EpochOptions& options, const TrainingHooks<Scalar>& hooks = {});

}  // namespace eigennet

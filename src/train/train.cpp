#include "eigennet/train/train.hpp"

#include <cmath>
#include <sstream>

#include "eigennet/train/data_parallel.hpp"

namespace eigennet {

template <typename Scalar>
LabeledData<Scalar>::LabeledData(const Matrix<Scalar>& x_, const Labels& labels_) : x(&x_), labels(&labels_) {
  require_labels(labels_.size(), x_.rows(), "labeled data");
}

template <typename Scalar>
LabeledData<Scalar>::LabeledData(const ByteRows<Scalar>& bytes_, const Labels& labels_)
    : bytes(bytes_), labels(&labels_) {
  if (!bytes_.bytes) throw std::invalid_argument("labeled data: the byte rows have no bytes");
  require_labels(labels_.size(), bytes_.rows(), "labeled data");
}

template <typename Scalar>
void LabeledData<Scalar>::copy_inputs(Index begin, Index count, MatrixRef<Scalar> out) const {
  if (x)
    out.topRows(count) = x->middleRows(begin, count);
  else
    copy_rows<Scalar>(bytes, begin, count, out);
}

template <typename Scalar>
void LabeledData<Scalar>::gather_inputs(const Index* indices, Index count, MatrixRef<Scalar> out) const {
  visit_inputs([&](const auto& set) { copy_rows<Scalar>(set, indices, count, out.topRows(count)); });
}

template <typename Scalar>
const Matrix<Scalar>& LabeledData<Scalar>::matrix(Matrix<Scalar>& storage) const {
  if (x) return *x;
  storage.resize(size(), cols());
  copy_inputs(0, size(), storage);
  return storage;
}

// scores: N×K, labels: N → fraction of rows whose first maximum is at the label.
template <typename Scalar>
double accuracy(ConstMatrixRef<Scalar> scores, ConstLabelsRef labels) {
  require_labels(labels.size(), scores.rows(), "accuracy");
  if (scores.rows() == 0) return 0.0;
  Index right = 0;
  for (Index n = 0; n < scores.rows(); ++n) {
    Index best = 0;
    for (Index k = 1; k < scores.cols(); ++k)
      if (scores(n, k) > scores(n, best)) best = k;
    if (best == labels(n)) ++right;
  }
  return double(right) / double(scores.rows());
}

template <typename Scalar>
void SynchronousStepper<Scalar>::collect(std::vector<StepResult>& results) {
  if (pending_) results.push_back(result_);
  pending_ = false;
}

template <typename Scalar>
void SynchronousStepper<Scalar>::finish_step(const StepResult& result, bool fused_update) {
  result_ = result;
  diverged_ = diverged_ || !std::isfinite(result.loss);
  if (!diverged_ && !fused_update) optimizer_.step();
  pending_ = true;
}

// indices[begin, begin + count) → rows 0..count−1 of x (count×D) and labels (count).
template <typename Scalar>
void gather_batch(const LabeledData<Scalar>& data, const std::vector<Index>& indices, Index begin, Index count,
                  MatrixRef<Scalar> x, Labels& labels) {
  data.gather_inputs(indices.data() + begin, count, x);
  gather_batch_labels(data, indices, begin, count, labels);
}

template <typename Scalar>
void gather_batch_labels(const LabeledData<Scalar>& data, const std::vector<Index>& indices, Index begin, Index count,
                         Labels& labels) {
  const Index* batch = indices.data() + begin;
  for (Index r = 0; r < count; ++r) labels(r) = (*data.labels)(batch[r]);
}

namespace {

template <typename Scalar>
void check_data(const Network<Scalar>& net, const LabeledData<Scalar>& data, const char* what) {
  if (data.empty()) return;
  data.visit_inputs([&](const auto& set) { require_cols(set, net.input_size(), std::string(what) + " input X"); });
}

// data: N×D in batches of at most batch rows → accuracy (and mean loss). A matrix's rows are
// read in place; bytes, or rows to transform, are copied into the network's input buffer (and
// transformed there), which its forward then reads in place.
template <typename Scalar>
Evaluation evaluate_with(Network<Scalar>& net, const LabeledData<Scalar>& data, Index batch,
                         const Loss<Scalar>* loss, const BatchTransform<Scalar>& transform) {
  Evaluation result;
  result.samples = data.size();
  if (data.empty() || data.size() == 0) return result;
  double right = 0, loss_sum = 0;
  for (Index start = 0; start < data.size(); start += batch) {
    const Index n = std::min(batch, data.size() - start);
    ConstLabelsRef labels = data.labels->segment(start, n);
    ConstMatrixRef<Scalar> out = [&]() -> ConstMatrixRef<Scalar> {
      if (data.x && !transform) return net.forward(data.x->middleRows(start, n));
      MatrixRef<Scalar> x = net.input_buffer(n);
      data.copy_inputs(start, n, x);
      if (transform) transform(x);
      return net.forward(x);
    }();
    right += accuracy<Scalar>(out, labels) * double(n);
    if (loss) loss_sum += double(loss->value_labels(out, labels)) * double(n);
  }
  result.accuracy = right / double(data.size());
  if (loss) result.loss = loss_sum / double(data.size());
  return result;
}

// The default stepper: the network's own step on this thread (or DataParallel's replicas) and
// the optimizer's update, done before step() returns. Plain SGD is fused: on one network of
// layers that take it (MLPs), forward_backward_sgd writes the update from the dW products
// themselves (W1 of the notebook: ~6% of a step saved); on replicas, the gradient sum applies it.
template <typename Scalar>
class HostStepper final : public SynchronousStepper<Scalar> {
 public:
  HostStepper(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
              const LabeledData<Scalar>& train, Index batch_size, int data_parallel,
              const BatchTransform<Scalar>& transform)
      : SynchronousStepper<Scalar>(optimizer), loss_(loss), train_(train), transform_(transform),
        parallel_(net, data_parallel), fusable_(net.has_fused_sgd()),
        batch_x_(parallel_.threads() > 1 && transform ? batch_size : 0, net.input_size()), batch_labels_(batch_size) {}

  // Gathers the batch's rows (indices checked by the loop), forward, loss, backward, and the
  // update unless the loss is not finite.
  void step(const std::vector<Index>& indices) override {
    const Index n = static_cast<Index>(indices.size());
    const std::optional<double> rate = this->fused_sgd_rate();  // plain SGD, no divergence yet
    const auto labels = batch_labels_.head(n);
    StepResult result;
    bool fused = false;
    if (parallel_.threads() == 1) {
      // One network: the rows go straight into its input buffer, which its forward reads in
      // place; plain SGD is fused into the backward where every layer can take it.
      Network<Scalar>& net = parallel_.network();
      MatrixRef<Scalar> x = net.input_buffer(n);
      gather_batch<Scalar>(train_, indices, 0, n, x, batch_labels_);
      if (transform_) transform_(x);
      fused = rate && fusable_;
      result.loss = double(fused ? net.forward_backward_sgd(x, labels, loss_, Scalar(*rate))
                                 : net.forward_backward(x, labels, loss_));
      result.accuracy = accuracy<Scalar>(net.output(), labels);
    } else if (!transform_) {
      // Replicas: each thread gathers its block's rows into its replica's input buffer; plain
      // SGD is fused into the gradient sum.
      gather_batch_labels(train_, indices, 0, n, batch_labels_);
      fused = rate.has_value();
      const std::optional<Scalar> sgd_rate = fused ? std::optional<Scalar>(Scalar(*rate)) : std::nullopt;
      result.loss = double(train_.visit_inputs([&](const auto& set) {
        return parallel_.forward_backward_rows(set, indices.data(), n, labels, loss_, sgd_rate);
      }));
      result.accuracy = accuracy<Scalar>(parallel_.output(), labels);
    } else {
      // Replicas on a transformed batch: gathered and transformed whole first.
      gather_batch<Scalar>(train_, indices, 0, n, batch_x_, batch_labels_);
      transform_(batch_x_.topRows(n));
      result.loss = double(parallel_.forward_backward(batch_x_.topRows(n), labels, loss_));
      result.accuracy = accuracy<Scalar>(parallel_.output(), labels);
    }
    result.rows = n;
    this->finish_step(result, fused);
  }

 private:
  const Loss<Scalar>& loss_;
  const LabeledData<Scalar>& train_;
  const BatchTransform<Scalar>& transform_;
  DataParallel<Scalar> parallel_;  // one thread: the network's own forward_backward
  bool fusable_;                   // every layer fuses plain SGD into its backward
  Matrix<Scalar> batch_x_;  // the gathered batch to transform before DataParallel's replicas take it
  Labels batch_labels_;
};

// What both loops share: the checks, the stepper, the batches, the history and the passes.
template <typename Scalar>
class Trainer {
 public:
  Trainer(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer, const NextBatch& next_batch,
          const LabeledData<Scalar>& train, const LabeledData<Scalar>& validation, const LabeledData<Scalar>& test,
          Index batch_size, Index eval_batch, std::optional<double> learning_rate, int data_parallel,
          const TrainingHooks<Scalar>& hooks)
      : net_(net), loss_(loss), next_batch_(next_batch), train_(train), validation_(validation), test_(test),
        eval_batch_(eval_batch), batch_size_(batch_size), hooks_(hooks) {
    if (train.empty() || train.size() == 0) throw std::invalid_argument("training: the training set is empty");
    if (!next_batch) throw std::invalid_argument("training: no batch rule (next_batch is empty)");
    if (batch_size < 1) throw std::invalid_argument("training: batch size must be ≥ 1, got " + std::to_string(batch_size));
    if (eval_batch < 1)
      throw std::invalid_argument("training: evaluation batch must be ≥ 1, got " + std::to_string(eval_batch));
    if (learning_rate && (!(*learning_rate > 0) || !std::isfinite(*learning_rate)))
      throw std::invalid_argument("training: learning rate must be positive and finite, got " +
                                  std::to_string(*learning_rate));
    if (hooks.stepper && hooks.transform)
      throw std::invalid_argument("training: a batch transform runs on the host only; this stepper takes none");
    if (hooks.stepper && data_parallel > 1)
      throw std::invalid_argument("training: data_parallel applies to host steps only; this stepper has its own");
    check_data(net, train, "training");
    check_data(net, validation, "validation");
    check_data(net, test, "test");
    // Everything a step or a pass needs, allocated once here.
    eval_batch_ = std::max<Index>(1, std::min(eval_batch, std::max(validation.size(), test.size())));
    net.reserve(std::max(batch_size, eval_batch_));
    if (hooks.stepper) {
      stepper_ = hooks.stepper;
    } else {
      host_stepper_.emplace(net, loss, optimizer, train, batch_size, data_parallel, hooks.transform);
      stepper_ = &*host_stepper_;
    }
    results_.reserve(1);
    if (learning_rate) stepper_->set_learning_rate(*learning_rate);
  }

  // Draws the next batch, checks it and starts its step; records its result at once unless the
  // stepper defers it. epoch 0: the iteration loop (no epochs).
  void step(TrainingHistory& history, Index epoch) {
    const std::vector<Index>& indices = next_batch_();
    const Index n = static_cast<Index>(indices.size());
    if (n < 1 || n > batch_size_)
      throw std::invalid_argument("training: the batch rule gave " + std::to_string(n) + " samples, expected 1.." +
                                  std::to_string(batch_size_));
    const Index available = train_.size();
    for (Index r = 0; r < n; ++r) {
      const Index i = indices[static_cast<std::size_t>(r)];
      if (i < 0 || i >= available)
        throw std::out_of_range("training batch: sample index " + std::to_string(i) + " at position " +
                                std::to_string(r) + " is outside 0.." + std::to_string(available - 1));
    }
    stepper_->step(indices);
    if (!stepper_->deferred()) record_steps(history, epoch);
  }

  // The results of the steps started so far, into the history (and the epoch's sums), in order.
  // Throws TrainingDiverged at the first NaN or ±Inf loss.
  void record_steps(TrainingHistory& history, Index epoch) {
    results_.clear();
    stepper_->collect(results_);
    for (const StepResult& r : results_) {
      if (!std::isfinite(r.loss)) {
        std::ostringstream message;
        message << "training diverged at step " << history.steps() + 1;
        if (epoch > 0) message << " (epoch " << epoch << ")";
        message << ": the " << loss_.name() << " loss is " << r.loss << ". Try a lower learning rate (now "
                << stepper_->learning_rate() << ") and check the inputs for NaN/Inf.";
        throw TrainingDiverged(message.str());
      }
      history.loss.push_back(r.loss);
      history.batch_accuracy.push_back(r.accuracy);
      epoch_loss_sum_ += r.loss * double(r.rows);
      epoch_right_ += r.accuracy * double(r.rows);
      epoch_samples_ += double(r.rows);
      notify(TrainingEvent::Step, history);
    }
  }

  // A test pass (and a validation pass with it when `with_validation`).
  void test_pass(TrainingHistory& history, bool with_validation, Index epoch) {
    record_steps(history, epoch);
    stepper_->update_host();
    if (with_validation) validation_pass(history);
    if (test_.empty()) return;
    const Evaluation e = evaluate_with(net_, test_, eval_batch_, &loss_, hooks_.transform);
    history.test_step.push_back(double(history.steps()));
    history.test_accuracy.push_back(e.accuracy);
    history.test_loss.push_back(e.loss);
    notify(TrainingEvent::Test, history);
  }

  // Closes an epoch: its mean loss and accuracy, then the validation pass.
  void end_epoch(TrainingHistory& history, Index epoch) {
    record_steps(history, epoch);
    stepper_->update_host();
    history.epoch_end_step.push_back(double(history.steps()));
    history.epoch_loss.push_back(epoch_loss_sum_ / epoch_samples_);
    history.epoch_accuracy.push_back(epoch_right_ / epoch_samples_);
    epoch_loss_sum_ = epoch_right_ = epoch_samples_ = 0;
    validation_pass(history);
  }

  // After the last step: the host network holds the trained parameters.
  void finish(TrainingHistory& history, Index epoch) {
    record_steps(history, epoch);
    stepper_->update_host();
  }

  void notify(TrainingEvent event, const TrainingHistory& history) const {
    if (hooks_.observer) hooks_.observer(event, history);
  }

 private:
  void validation_pass(TrainingHistory& history) {
    if (validation_.empty()) return;
    const Evaluation e = evaluate_with(net_, validation_, eval_batch_, &loss_, hooks_.transform);
    history.validation_loss.push_back(e.loss);
    history.validation_accuracy.push_back(e.accuracy);
  }

  Network<Scalar>& net_;
  const Loss<Scalar>& loss_;
  const NextBatch& next_batch_;
  const LabeledData<Scalar>& train_;
  const LabeledData<Scalar>& validation_;
  const LabeledData<Scalar>& test_;
  Index eval_batch_, batch_size_;
  const TrainingHooks<Scalar>& hooks_;
  std::optional<HostStepper<Scalar>> host_stepper_;
  Stepper<Scalar>* stepper_ = nullptr;
  std::vector<StepResult> results_;
  double epoch_loss_sum_ = 0, epoch_right_ = 0, epoch_samples_ = 0;
};

}  // namespace

template <typename Scalar>
Evaluation evaluate(Network<Scalar>& net, const LabeledData<Scalar>& data, Index batch_size, const Loss<Scalar>* loss,
                    const BatchTransform<Scalar>& transform) {
  if (batch_size < 1) throw std::invalid_argument("evaluate: batch size must be ≥ 1, got " + std::to_string(batch_size));
  check_data(net, data, "evaluation");
  return evaluate_with(net, data, batch_size, loss, transform);
}

template <typename Scalar>
TrainingHistory train_iterations(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
                                 const NextBatch& next_batch, const LabeledData<Scalar>& train,
                                 const LabeledData<Scalar>& validation, const LabeledData<Scalar>& test,
                                 const IterationOptions& options, const TrainingHooks<Scalar>& hooks) {
  if (options.iterations < 1)
    throw std::invalid_argument("training: iterations must be ≥ 1, got " + std::to_string(options.iterations));
  if (options.test_every < 0)
    throw std::invalid_argument("training: test_every must be ≥ 0, got " + std::to_string(options.test_every));
  Trainer<Scalar> trainer(net, loss, optimizer, next_batch, train, validation, test, options.batch_size,
                          options.eval_batch, options.learning_rate, options.data_parallel, hooks);
  TrainingHistory history;
  const auto steps = static_cast<std::size_t>(options.iterations);
  const std::size_t passes = (options.test_every > 0 ? steps / std::size_t(options.test_every) : 0) + 1;
  history.loss.reserve(steps);
  history.batch_accuracy.reserve(steps);
  for (auto* v : {&history.test_step, &history.test_accuracy, &history.test_loss, &history.validation_loss,
                  &history.validation_accuracy})
    v->reserve(passes);

  for (Index s = 1; s <= options.iterations; ++s) {
    trainer.step(history, 0);
    const bool due = options.test_every > 0 && s % options.test_every == 0;
    if (due || s == options.iterations) trainer.test_pass(history, true, 0);
  }
  trainer.finish(history, 0);
  return history;
}

template <typename Scalar>
TrainingHistory train_epochs(Network<Scalar>& net, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
                             const NextBatch& next_batch, const LabeledData<Scalar>& train,
                             const LabeledData<Scalar>& validation, const LabeledData<Scalar>& test,
                             const EpochOptions& options, const TrainingHooks<Scalar>& hooks) {
  if (options.epochs < 1) throw std::invalid_argument("training: epochs must be ≥ 1, got " + std::to_string(options.epochs));
  if (options.batches_per_epoch < 1)
    throw std::invalid_argument("training: batches per epoch must be ≥ 1, got " +
                                std::to_string(options.batches_per_epoch));
  Trainer<Scalar> trainer(net, loss, optimizer, next_batch, train, validation, test, options.batch_size,
                          options.eval_batch, options.learning_rate, options.data_parallel, hooks);
  TrainingHistory history;
  const auto steps = static_cast<std::size_t>(options.epochs * options.batches_per_epoch);
  const auto epochs = static_cast<std::size_t>(options.epochs);
  history.loss.reserve(steps);
  history.batch_accuracy.reserve(steps);
  for (auto* v : {&history.test_step, &history.test_accuracy, &history.test_loss, &history.epoch_end_step,
                  &history.epoch_loss, &history.epoch_accuracy, &history.validation_loss, &history.validation_accuracy})
    v->reserve(epochs);

  for (Index e = 1; e <= options.epochs; ++e) {
    for (Index b = 0; b < options.batches_per_epoch; ++b) trainer.step(history, e);
    trainer.end_epoch(history, e);
    if (options.test_every_epoch || e == options.epochs) trainer.test_pass(history, false, e);
    trainer.notify(TrainingEvent::Epoch, history);
  }
  trainer.finish(history, options.epochs);
  return history;
}

template struct LabeledData<float>;
template struct LabeledData<double>;
template class SynchronousStepper<float>;
template class SynchronousStepper<double>;
template void gather_batch<float>(const LabeledData<float>&, const std::vector<Index>&, Index, Index, MatrixRef<float>,
                                  Labels&);
template void gather_batch<double>(const LabeledData<double>&, const std::vector<Index>&, Index, Index,
                                   MatrixRef<double>, Labels&);
template void gather_batch_labels<float>(const LabeledData<float>&, const std::vector<Index>&, Index, Index, Labels&);
template void gather_batch_labels<double>(const LabeledData<double>&, const std::vector<Index>&, Index, Index, Labels&);
template double accuracy<float>(ConstMatrixRef<float>, ConstLabelsRef);
template double accuracy<double>(ConstMatrixRef<double>, ConstLabelsRef);
template Evaluation evaluate<float>(Network<float>&, const LabeledData<float>&, Index, const Loss<float>*,
                                    const BatchTransform<float>&);
template Evaluation evaluate<double>(Network<double>&, const LabeledData<double>&, Index, const Loss<double>*,
                                     const BatchTransform<double>&);
template TrainingHistory train_iterations<float>(Network<float>&, const Loss<float>&, Optimizer<float>&,
                                                 const NextBatch&, const LabeledData<float>&, const LabeledData<float>&,
                                                 const LabeledData<float>&, const IterationOptions&,
                                                 const TrainingHooks<float>&);
template TrainingHistory train_iterations<double>(Network<double>&, const Loss<double>&, Optimizer<double>&,
                                                  const NextBatch&, const LabeledData<double>&,
                                                  const LabeledData<double>&, const LabeledData<double>&,
                                                  const IterationOptions&, const TrainingHooks<double>&);
template TrainingHistory train_epochs<float>(Network<float>&, const Loss<float>&, Optimizer<float>&, const NextBatch&,
                                             const LabeledData<float>&, const LabeledData<float>&,
                                             const LabeledData<float>&, const EpochOptions&,
                                             const TrainingHooks<float>&);
template TrainingHistory train_epochs<double>(Network<double>&, const Loss<double>&, Optimizer<double>&,
                                              const NextBatch&, const LabeledData<double>&, const LabeledData<double>&,
                                              const LabeledData<double>&, const EpochOptions&,
                                              const TrainingHooks<double>&);

}  // namespace eigennet

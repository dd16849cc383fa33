#include "eigennet/cuda/device_network.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "eigennet/layers/dense.hpp"
#include "eigennet/layers/relu.hpp"
#include "eigennet/layers/sigmoid.hpp"
#include "eigennet/layers/tanh.hpp"
#include "kernels.hpp"
#include "runtime.hpp"

namespace eigennet {
namespace cuda {

using detail::check_cuda;
using detail::DeviceArray;

namespace {

// One layer of the mirror. Dense layers point into the flat parameter buffers.
struct LayerPlan {
  bool dense = false;
  kernels::Activation activation = kernels::Activation::Relu;  // when !dense
  Index input_size = 0, output_size = 0;
  bool bias = false;
  Index offset = 0;  // dense: W's first entry in the flat parameter and gradient buffers
  std::string describe;
};

// One trainable tensor: its host name and place in the flat buffers.
struct ParameterPlan {
  std::string name;
  Index offset = 0, rows = 0, cols = 0;
};

// Tensors start on multiples of 64 entries (256 bytes in float), cuBLAS's preferred alignment.
Index aligned(Index offset) { return (offset + 63) / 64 * 64; }

template <typename Scalar>
LayerPlan plan_layer(const Layer<Scalar>& layer, Index position) {
  LayerPlan plan;
  plan.input_size = layer.input_size();
  plan.output_size = layer.output_size();
  plan.describe = "layer" + std::to_string(position) + " (" + layer.describe() + ")";
  if (auto* dense = dynamic_cast<const Dense<Scalar>*>(&layer)) {
    plan.dense = true;
    plan.bias = dense->has_bias();
  } else if (dynamic_cast<const Relu<Scalar>*>(&layer)) {
    plan.activation = kernels::Activation::Relu;
  } else if (dynamic_cast<const Sigmoid<Scalar>*>(&layer)) {
    plan.activation = kernels::Activation::Sigmoid;
  } else if (dynamic_cast<const Tanh<Scalar>*>(&layer)) {
    plan.activation = kernels::Activation::Tanh;
  } else {
    throw std::invalid_argument("DeviceNetwork: " + plan.describe +
                                " has no device version (the device runs dense, relu, sigmoid, tanh)");
  }
  return plan;
}

std::string scalar_name(std::size_t bytes) { return bytes == 4 ? "float" : "double"; }

}  // namespace

template <typename Scalar>
struct DeviceNetwork<Scalar>::Impl {
  DeviceOptions options;
  detail::Context context;
  std::vector<LayerPlan> layers;
  std::vector<ParameterPlan> parameters;
  Index parameter_entries = 0;

  // Flat parameter, gradient and momentum buffers (velocity only for momentum).
  DeviceArray<Scalar> values, gradients, velocity;
  // activations[0] is the batch input, activations[i+1] layer i's output; deltas[i] = dL/d
  // activations[i]. Each is max_batch rows; a batch of n uses the first n rows.
  std::vector<DeviceArray<Scalar>> activations, deltas;
  DeviceArray<Scalar> row_loss, row_right, loss, hyper;  // hyper: ε, μ
  // status: losses evaluated, the first NaN/Inf one (−1: none), training steps logged.
  DeviceArray<std::int32_t> status;
  // Per training step: its loss and batch accuracy, a ring of options.step_log entries.
  DeviceArray<Scalar> step_log;
  DeviceArray<std::int32_t> batch_indices, batch_labels;
  DeviceArray<Scalar> batch_targets;

  // The training set.
  Index training_rows = 0;
  DeviceArray<Scalar> training_x, training_targets;
  DeviceArray<std::int32_t> training_labels;

  // Each step's batch indices, written by step() into page-locked slots (max_batch each).
  detail::PinnedStaging index_staging;
  static constexpr int kIndexSlots = 4;  // the host runs at most this many steps ahead
  // Step results fetched from the ring but not yet handed out (the ring filled up), and the
  // host copy of the ring.
  std::vector<StepResult> fetched_results;
  std::vector<Scalar> host_log;
  std::vector<Index> step_rows;  // rows of each step in the ring, by ring slot
  Index steps_fetched = 0;
  std::map<Index, cudaGraphExec_t> graphs;  // one per batch size
  std::map<Index, bool> eager_step_done;    // the first step of a batch size runs uncaptured
  Index steps = 0;
  Index batch = 0;  // rows of the last forward

  Impl(Network<Scalar>& host, const DeviceOptions& opts);
  ~Impl();

  Index input_size() const { return layers.front().input_size; }
  Index output_size() const { return layers.back().output_size; }
  cudaStream_t stream() const { return context.stream(); }

  template <typename T>
  void copy_to_device(T* to, const T* from, Index count, const char* what) {
    check_cuda(cudaMemcpyAsync(to, from, sizeof(T) * count, cudaMemcpyHostToDevice, stream()),
               [&] { return std::string("DeviceNetwork: copying ") + what + " to the device"; });
  }
  template <typename T>
  void copy_to_host(T* to, const T* from, Index count, const char* what) const {
    check_cuda(cudaMemcpyAsync(to, from, sizeof(T) * count, cudaMemcpyDeviceToHost, stream()),
               [&] { return std::string("DeviceNetwork: copying ") + what + " to the host"; });
    context.synchronize(what);
  }

  void check_batch_rows(Index n, const char* what) const {
    if (n < 1 || n > options.max_batch)
      throw std::invalid_argument(std::string("DeviceNetwork::") + what + ": " + std::to_string(n) +
                                  " rows, expected 1 … max_batch = " + std::to_string(options.max_batch));
  }

  void forward(Index n);
  void loss_and_gradient(Index n, bool log_step);
  void backward(Index n, bool compute_input_gradient);
  // Forward, loss and backward of the n rows already uploaded as the batch.
  void forward_loss_backward(Index n, bool compute_input_gradient) {
    forward(n);
    loss_and_gradient(n, false);
    backward(n, compute_input_gradient);
    batch = n;
  }
  // One label per row, each a class of the output: throws std::invalid_argument naming `where`.
  void check_labels(const ConstLabelsRef& labels, Index rows, const std::string& where) const {
    require_labels(labels.size(), rows, where);
    for (Index n = 0; n < labels.size(); ++n)
      if (labels(n) < 0 || labels(n) >= output_size())
        throw std::invalid_argument(where + ": label " + std::to_string(labels(n)) + " of sample " +
                                    std::to_string(n) + " is outside [0, " + std::to_string(output_size()) + ")");
  }
  void update();
  void enqueue_step(Index n);
  // The captured steps hold the training set's device pointers: a new set needs new captures.
  void forget_graphs() {
    for (auto& [rows, exec] : graphs) cudaGraphExecDestroy(exec);
    graphs.clear();
  }
  void throw_if_diverged();
  void fetch_step_results();
};

template <typename Scalar>
DeviceNetwork<Scalar>::Impl::Impl(Network<Scalar>& host, const DeviceOptions& opts)
    : options(opts), context(true, opts.tf32) {
  if (options.max_batch <= 0)
    throw std::invalid_argument("DeviceNetwork: max_batch must be positive, got " + std::to_string(options.max_batch));
  if (host.layer_count() == 0) throw std::invalid_argument("DeviceNetwork: the host network has no layers");
  const auto& opt = options.optimizer;
  if (!(opt.learning_rate > 0) || !std::isfinite(opt.learning_rate))
    throw std::invalid_argument("DeviceNetwork: learning rate must be positive and finite, got " +
                                std::to_string(opt.learning_rate));
  if (opt.kind == DeviceOptimizer::Kind::Momentum && !(opt.momentum >= 0 && opt.momentum < 1))
    throw std::invalid_argument("DeviceNetwork: momentum must be in [0, 1), got " + std::to_string(opt.momentum));
  if (options.step_log <= 0)
    throw std::invalid_argument("DeviceNetwork: step_log must be positive, got " + std::to_string(options.step_log));

  // Layers, and the parameters in the host's order (Dense has one tensor, W).
  ParameterList<Scalar> host_parameters = host.parameters();
  std::size_t next_parameter = 0;
  for (Index i = 0; i < host.layer_count(); ++i) {
    LayerPlan plan = plan_layer(host.layer(i), i);
    if (plan.dense) {
      const Parameter<Scalar>& p = host_parameters.at(next_parameter++);
      const Index rows = plan.input_size + (plan.bias ? 1 : 0);
      require_shape(*p.value, rows, plan.output_size, [&] { return "DeviceNetwork: " + plan.describe + " " + p.name; });
      plan.offset = aligned(parameter_entries);
      parameters.push_back({p.name, plan.offset, rows, plan.output_size});
      parameter_entries = plan.offset + rows * plan.output_size;
    }
    layers.push_back(plan);
  }

  const std::string name = "DeviceNetwork<" + scalar_name(sizeof(Scalar)) + ">";
  const auto entries = std::size_t(parameter_entries);
  values = DeviceArray<Scalar>(entries, name + " parameters");
  gradients = DeviceArray<Scalar>(entries, name + " gradients");
  if (opt.kind == DeviceOptimizer::Kind::Momentum) velocity = DeviceArray<Scalar>(entries, name + " velocity");
  const auto max_batch = std::size_t(options.max_batch);
  activations.push_back(DeviceArray<Scalar>(max_batch * input_size(), name + " input"));
  deltas.push_back(DeviceArray<Scalar>(max_batch * input_size(), name + " dL/dX"));
  for (const LayerPlan& layer : layers) {
    activations.push_back(DeviceArray<Scalar>(max_batch * layer.output_size, name + " output of " + layer.describe));
    deltas.push_back(DeviceArray<Scalar>(max_batch * layer.output_size, name + " gradient of " + layer.describe));
  }
  row_loss = DeviceArray<Scalar>(max_batch, name + " loss per row");
  if (options.loss.kind == DeviceLoss::Kind::SoftmaxCrossEntropy)
    row_right = DeviceArray<Scalar>(max_batch, name + " right per row");
  loss = DeviceArray<Scalar>(1, name + " loss");
  hyper = DeviceArray<Scalar>(2, name + " learning rate and momentum");
  status = DeviceArray<std::int32_t>(3, name + " status");
  step_log = DeviceArray<Scalar>(2 * std::size_t(options.step_log), name + " step log");
  host_log.resize(2 * std::size_t(options.step_log));
  step_rows.resize(std::size_t(options.step_log));
  fetched_results.reserve(std::size_t(options.step_log));  // a full ring's fetch allocates nothing
  batch_indices = DeviceArray<std::int32_t>(max_batch, name + " batch indices");
  if (options.loss.kind == DeviceLoss::Kind::SoftmaxCrossEntropy)
    batch_labels = DeviceArray<std::int32_t>(max_batch, name + " batch labels");
  else
    batch_targets = DeviceArray<Scalar>(max_batch * output_size(), name + " batch targets");
  index_staging = detail::PinnedStaging(sizeof(std::int32_t) * max_batch, kIndexSlots, name + " batch index staging");

  const Scalar hyper_host[2] = {Scalar(opt.learning_rate), Scalar(opt.momentum)};
  copy_to_device(hyper.data(), hyper_host, 2, "learning rate and momentum");
  const std::int32_t status_host[3] = {0, -1, 0};
  copy_to_device(status.data(), status_host, 3, "status");
  context.synchronize("DeviceNetwork construction");
}

template <typename Scalar>
DeviceNetwork<Scalar>::Impl::~Impl() {
  forget_graphs();
}

// Each layer reads the first n rows of its input buffer, as Network::forward does on the host.
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::forward(Index n) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerPlan& layer = layers[i];
    const Scalar* x = activations[i].data();
    Scalar* y = activations[i + 1].data();
    if (!layer.dense) {
      kernels::activation_forward(layer.activation, x, y, n * layer.output_size, stream());
      continue;
    }
    // x: n×D_in, y: n×D_out.  Y = X·W[0:D_in] + 1·W[D_in]  (src/layers/dense.cpp)
    const Index d_in = layer.input_size, d_out = layer.output_size;
    const Scalar* w = values.data() + layer.offset;
    if (layer.bias) kernels::broadcast_row(w + d_in * d_out, n, d_out, y, stream());
    detail::gemm_rows<Scalar>(context, Op::None, Op::None, n, d_out, d_in, 1, x, d_in, w, d_out,
                              layer.bias ? 1 : 0, y, d_out);
  }
}

// The output's gradient and the loss (model/loss.hpp: the 1/N of a mean lives here only).
// log_step: a training step, whose loss and accuracy go to the step log.
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::loss_and_gradient(Index n, bool log_step) {
  const Scalar* out = activations.back().data();
  Scalar* d_out = deltas.back().data();
  Scalar* log = log_step ? step_log.data() : nullptr;
  if (options.loss.kind == DeviceLoss::Kind::SoftmaxCrossEntropy) {
    kernels::softmax_cross_entropy(out, batch_labels.data(), n, output_size(), options.loss.log_epsilon, d_out,
                                   row_loss.data(), row_right.data(), stream());
    kernels::finish_loss(row_loss.data(), row_right.data(), n, Scalar(n), loss.data(), status.data(), log,
                         options.step_log, stream());
  } else {
    kernels::squared_error(out, batch_targets.data(), n, output_size(), d_out, row_loss.data(), stream());
    kernels::finish_loss(row_loss.data(), static_cast<const Scalar*>(nullptr), n, Scalar(1), loss.data(),
                         status.data(), log, options.step_log, stream());
  }
}

// Walks the layers backwards; the first layer skips dL/dX unless asked (Network::backward).
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::backward(Index n, bool compute_input_gradient) {
  for (std::size_t i = layers.size(); i-- > 0;) {
    const LayerPlan& layer = layers[i];
    const bool need_dx = i > 0 || compute_input_gradient;
    const Scalar* x = activations[i].data();
    const Scalar* y = activations[i + 1].data();
    const Scalar* dy = deltas[i + 1].data();
    Scalar* dx = deltas[i].data();
    if (!layer.dense) {
      if (need_dx) kernels::activation_backward(layer.activation, x, y, dy, dx, n * layer.output_size, stream());
      continue;
    }
    // x: n×D_in, dy: n×D_out → dW: (D_in+1)×D_out, dx: n×D_in. From Y = [X, 1]·W (src/layers/dense.cpp):
    // dW[0:D_in] = Xᵀ·dY,  dW[D_in] = 1ᵀ·dY (column sums),  dX = dY·W[0:D_in]ᵀ.
    const Index d_in = layer.input_size, d_out = layer.output_size;
    const Scalar* w = values.data() + layer.offset;
    Scalar* dw = gradients.data() + layer.offset;
    detail::gemm_rows<Scalar>(context, Op::Transpose, Op::None, d_in, d_out, n, 1, x, d_in, dy, d_out, 0, dw, d_out);
    if (layer.bias) kernels::column_sums(dy, n, d_out, dw + d_in * d_out, stream());
    if (need_dx) detail::gemm_rows<Scalar>(context, Op::None, Op::Transpose, n, d_in, d_out, 1, dy, d_out, w, d_out, 0, dx, d_in);
  }
}

// One kernel over the flat buffers: the padding between tensors is zero in all of them.
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::update() {
  const auto& opt = options.optimizer;
  if (opt.kind == DeviceOptimizer::Kind::Sgd)
    kernels::sgd_update(values.data(), gradients.data(), parameter_entries, hyper.data(), status.data(), stream());
  else
    kernels::momentum_update(values.data(), gradients.data(), velocity.data(), parameter_entries, opt.nesterov,
                             hyper.data(), status.data(), stream());
}

// The whole step on the batch whose indices are in batch_indices: gather, forward, loss,
// backward, update. Only device work on one stream, so it can be captured in a graph.
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::enqueue_step(Index n) {
  kernels::gather_rows(training_x.data(), input_size(), batch_indices.data(), n, activations.front().data(), stream());
  if (options.loss.kind == DeviceLoss::Kind::SoftmaxCrossEntropy)
    kernels::gather_rows(training_labels.data(), 1, batch_indices.data(), n, batch_labels.data(), stream());
  else
    kernels::gather_rows(training_targets.data(), output_size(), batch_indices.data(), n, batch_targets.data(), stream());
  forward(n);
  loss_and_gradient(n, true);
  backward(n, false);
  update();
}

// Copies the step log's entries of the steps not fetched yet (at most a ring's worth: step()
// fetches before the ring would overwrite one) into fetched_results.
template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::fetch_step_results() {
  const Index count = steps - steps_fetched;
  if (count == 0) return;
  const Index capacity = options.step_log;
  const Index first = steps_fetched % capacity;
  const Index head = std::min(count, capacity - first);  // up to the ring's end, then from its start
  check_cuda(cudaMemcpyAsync(host_log.data(), step_log.data() + 2 * first, sizeof(Scalar) * 2 * head,
                             cudaMemcpyDeviceToHost, stream()),
             "DeviceNetwork: copying the step log to the host");
  if (count > head)
    check_cuda(cudaMemcpyAsync(host_log.data() + 2 * head, step_log.data(), sizeof(Scalar) * 2 * (count - head),
                               cudaMemcpyDeviceToHost, stream()),
               "DeviceNetwork: copying the step log to the host");
  context.synchronize("the step log");
  for (Index i = 0; i < count; ++i) {
    const Index slot = (first + i) % capacity;
    fetched_results.push_back(StepResult{double(host_log[std::size_t(2 * i)]),
                                         double(host_log[std::size_t(2 * i + 1)]), step_rows[std::size_t(slot)]});
  }
  steps_fetched = steps;
}

template <typename Scalar>
void DeviceNetwork<Scalar>::Impl::throw_if_diverged() {
  std::int32_t status_host[2];
  copy_to_host(status_host, status.data(), 2, "status");
  if (status_host[1] >= 0)
    throw TrainingDiverged("DeviceNetwork: the loss became NaN or ±Inf at loss evaluation " +
                           std::to_string(status_host[1] + 1) + " (steps and forward_backward calls, from 1); " +
                           "training stopped there: the parameters are those before it. Try a smaller learning "
                           "rate (now " + std::to_string(options.optimizer.learning_rate) + ")");
}

// ---- the public interface ---------------------------------------------------------------

template <typename Scalar>
DeviceNetwork<Scalar>::DeviceNetwork(Network<Scalar>& host, const DeviceOptions& options)
    : impl_(std::make_unique<Impl>(host, options)) {
  copy_from(host);
}

template <typename Scalar>
DeviceNetwork<Scalar>::~DeviceNetwork() = default;
template <typename Scalar>
DeviceNetwork<Scalar>::DeviceNetwork(DeviceNetwork&&) noexcept = default;
template <typename Scalar>
DeviceNetwork<Scalar>& DeviceNetwork<Scalar>::operator=(DeviceNetwork&&) noexcept = default;

namespace {
// The host tensor named like `plan`, with its shape checked.
template <typename Scalar>
const Parameter<Scalar>& find_host_parameter(const ParameterList<Scalar>& host, const ParameterPlan& plan) {
  for (const auto& p : host)
    if (p.name == plan.name) {
      require_shape(*p.value, plan.rows, plan.cols, [&] { return "DeviceNetwork: host parameter " + p.name; });
      return p;
    }
  throw std::invalid_argument("DeviceNetwork: the host network has no parameter " + plan.name);
}
}  // namespace

template <typename Scalar>
void DeviceNetwork<Scalar>::copy_from(Network<Scalar>& host) {
  const ParameterList<Scalar> list = host.parameters();
  for (const ParameterPlan& plan : impl_->parameters) {
    const Parameter<Scalar>& p = find_host_parameter(list, plan);
    impl_->copy_to_device(impl_->values.data() + plan.offset, p.value->data(), plan.rows * plan.cols, "parameters");
  }
  impl_->context.synchronize("DeviceNetwork::copy_from");
}

template <typename Scalar>
void DeviceNetwork<Scalar>::copy_to(Network<Scalar>& host) const {
  const ParameterList<Scalar> list = host.parameters();
  for (const ParameterPlan& plan : impl_->parameters) {
    const Parameter<Scalar>& p = find_host_parameter(list, plan);
    impl_->copy_to_host(p.value->data(), impl_->values.data() + plan.offset, plan.rows * plan.cols, "parameters");
  }
}

template <typename Scalar>
void DeviceNetwork<Scalar>::set_training_set(ConstMatrixRef<Scalar> x, ConstLabelsRef labels) {
  Impl& d = *impl_;
  if (d.options.loss.kind != DeviceLoss::Kind::SoftmaxCrossEntropy)
    throw std::invalid_argument("DeviceNetwork::set_training_set: the squared error needs a target matrix, not labels");
  if (x.cols() != d.input_size() || labels.size() != x.rows() || x.rows() == 0)
    throw std::invalid_argument("DeviceNetwork::set_training_set: x is " + shape_of(x) + " with " +
                                std::to_string(labels.size()) + " labels; expected M×" + std::to_string(d.input_size()) +
                                " and M labels, M > 0");
  d.check_labels(labels, x.rows(), "DeviceNetwork::set_training_set");
  d.forget_graphs();
  const Matrix<Scalar> x_packed = x;  // a Ref may have a row stride; the device copy has none
  d.training_x = DeviceArray<Scalar>(std::size_t(x.size()), "DeviceNetwork training inputs " + shape_of(x));
  d.training_labels = DeviceArray<std::int32_t>(std::size_t(labels.size()), "DeviceNetwork training labels");
  d.copy_to_device(d.training_x.data(), x_packed.data(), x.size(), "training inputs");
  d.copy_to_device(d.training_labels.data(), labels.data(), labels.size(), "training labels");
  d.context.synchronize("DeviceNetwork::set_training_set");
  d.training_rows = x.rows();
}

template <typename Scalar>
void DeviceNetwork<Scalar>::set_training_set(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> targets) {
  Impl& d = *impl_;
  if (d.options.loss.kind != DeviceLoss::Kind::SquaredError)
    throw std::invalid_argument("DeviceNetwork::set_training_set: softmax-cross-entropy needs integer labels");
  if (x.cols() != d.input_size() || x.rows() == 0)
    throw std::invalid_argument("DeviceNetwork::set_training_set: x is " + shape_of(x) + ", expected M×" +
                                std::to_string(d.input_size()) + ", M > 0");
  require_shape(targets, x.rows(), d.output_size(), "DeviceNetwork::set_training_set: targets");
  d.forget_graphs();
  const Matrix<Scalar> x_packed = x, targets_packed = targets;
  d.training_x = DeviceArray<Scalar>(std::size_t(x.size()), "DeviceNetwork training inputs " + shape_of(x));
  d.training_targets = DeviceArray<Scalar>(std::size_t(targets.size()), "DeviceNetwork training targets");
  d.copy_to_device(d.training_x.data(), x_packed.data(), x.size(), "training inputs");
  d.copy_to_device(d.training_targets.data(), targets_packed.data(), targets.size(), "training targets");
  d.context.synchronize("DeviceNetwork::set_training_set");
  d.training_rows = x.rows();
}

// The indices go to a fixed device buffer, queued from a page-locked slot (index_staging) so
// that the host does not wait for the device here. The first step of each batch size runs
// directly: it loads the kernels and warms cuBLAS outside a capture. From the second on, the
// step is captured once into a graph and replayed.
template <typename Scalar>
void DeviceNetwork<Scalar>::step(const std::vector<Index>& indices) {
  Impl& d = *impl_;
  const Index n = static_cast<Index>(indices.size());
  d.check_batch_rows(n, "step");
  if (d.training_rows == 0) throw std::logic_error("DeviceNetwork::step before set_training_set");
  auto* staged = static_cast<std::int32_t*>(d.index_staging.slot());
  for (Index i = 0; i < n; ++i) {
    if (indices[i] < 0 || indices[i] >= d.training_rows)
      throw std::invalid_argument("DeviceNetwork::step: index " + std::to_string(indices[i]) + " (batch row " +
                                  std::to_string(i) + ") is outside the training set [0, " +
                                  std::to_string(d.training_rows) + ")");
    staged[i] = static_cast<std::int32_t>(indices[i]);
  }
  if (d.steps - d.steps_fetched == d.options.step_log) d.fetch_step_results();  // the ring is full
  d.step_rows[std::size_t(d.steps % d.options.step_log)] = n;
  d.index_staging.copy_to_device(d.batch_indices.data(), sizeof(std::int32_t) * n, d.stream(), "batch indices");
  if (!d.options.graph || !d.eager_step_done[n]) {
    d.enqueue_step(n);
    d.eager_step_done[n] = true;
  } else {
    auto graph = d.graphs.find(n);
    if (graph == d.graphs.end()) {
      cudaGraph_t captured = nullptr;
      check_cuda(cudaStreamBeginCapture(d.stream(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
      try {
        d.enqueue_step(n);
      } catch (...) {
        cudaStreamEndCapture(d.stream(), &captured);
        if (captured) cudaGraphDestroy(captured);
        throw;
      }
      check_cuda(cudaStreamEndCapture(d.stream(), &captured), "cudaStreamEndCapture of the training step");
      cudaGraphExec_t exec = nullptr;
      const cudaError_t instantiated = cudaGraphInstantiate(&exec, captured, 0);
      cudaGraphDestroy(captured);
      check_cuda(instantiated, [&] { return "cudaGraphInstantiate of the training step (batch " + std::to_string(n) + ")"; });
      graph = d.graphs.emplace(n, exec).first;
    }
    check_cuda(cudaGraphLaunch(graph->second, d.stream()), "cudaGraphLaunch of the training step");
  }
  d.batch = n;
  ++d.steps;
}

template <typename Scalar>
Scalar DeviceNetwork<Scalar>::loss() {
  impl_->throw_if_diverged();
  Scalar value = 0;
  impl_->copy_to_host(&value, impl_->loss.data(), 1, "loss");
  return value;
}

template <typename Scalar>
void DeviceNetwork<Scalar>::step_results(std::vector<StepResult>& results) {
  impl_->fetch_step_results();
  results.insert(results.end(), impl_->fetched_results.begin(), impl_->fetched_results.end());
  impl_->fetched_results.clear();
}

template <typename Scalar>
void DeviceNetwork<Scalar>::synchronize() {
  impl_->context.synchronize("DeviceNetwork::synchronize");
  impl_->throw_if_diverged();
}

template <typename Scalar>
void DeviceNetwork<Scalar>::set_learning_rate(double learning_rate) {
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("DeviceNetwork: learning rate must be positive and finite, got " +
                                std::to_string(learning_rate));
  impl_->options.optimizer.learning_rate = learning_rate;
  const Scalar lr = Scalar(learning_rate);
  impl_->copy_to_device(impl_->hyper.data(), &lr, 1, "learning rate");
}

template <typename Scalar>
Matrix<Scalar> DeviceNetwork<Scalar>::forward(ConstMatrixRef<Scalar> x) {
  Impl& d = *impl_;
  d.check_batch_rows(x.rows(), "forward");
  require_shape(x, x.rows(), d.input_size(), "DeviceNetwork::forward: input X");
  const Matrix<Scalar> x_packed = x;
  d.copy_to_device(d.activations.front().data(), x_packed.data(), x.size(), "input X");
  d.forward(x.rows());
  d.batch = x.rows();
  Matrix<Scalar> out(x.rows(), d.output_size());
  d.copy_to_host(out.data(), d.activations.back().data(), out.size(), "output");
  return out;
}

template <typename Scalar>
Scalar DeviceNetwork<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels,
                                               bool compute_input_gradient) {
  Impl& d = *impl_;
  if (d.options.loss.kind != DeviceLoss::Kind::SoftmaxCrossEntropy)
    throw std::invalid_argument("DeviceNetwork::forward_backward: the squared error needs a target matrix");
  d.check_batch_rows(x.rows(), "forward_backward");
  require_shape(x, x.rows(), d.input_size(), "DeviceNetwork::forward_backward: input X");
  d.check_labels(labels, x.rows(), "DeviceNetwork::forward_backward");
  const Matrix<Scalar> x_packed = x;
  d.copy_to_device(d.activations.front().data(), x_packed.data(), x.size(), "input X");
  d.copy_to_device(d.batch_labels.data(), labels.data(), labels.size(), "labels");
  d.forward_loss_backward(x.rows(), compute_input_gradient);
  return loss();
}

template <typename Scalar>
Scalar DeviceNetwork<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> targets,
                                               bool compute_input_gradient) {
  Impl& d = *impl_;
  if (d.options.loss.kind != DeviceLoss::Kind::SquaredError)
    throw std::invalid_argument("DeviceNetwork::forward_backward: softmax-cross-entropy needs integer labels");
  d.check_batch_rows(x.rows(), "forward_backward");
  require_shape(x, x.rows(), d.input_size(), "DeviceNetwork::forward_backward: input X");
  require_shape(targets, x.rows(), d.output_size(), "DeviceNetwork::forward_backward: targets");
  const Matrix<Scalar> x_packed = x, targets_packed = targets;
  d.copy_to_device(d.activations.front().data(), x_packed.data(), x.size(), "input X");
  d.copy_to_device(d.batch_targets.data(), targets_packed.data(), targets.size(), "targets");
  d.forward_loss_backward(x.rows(), compute_input_gradient);
  return loss();
}

template <typename Scalar>
Matrix<Scalar> DeviceNetwork<Scalar>::input_gradient() const {
  const Impl& d = *impl_;
  if (d.batch == 0) throw std::logic_error("DeviceNetwork::input_gradient before forward_backward");
  Matrix<Scalar> dx(d.batch, d.input_size());
  d.copy_to_host(dx.data(), d.deltas.front().data(), dx.size(), "dL/dX");
  return dx;
}

template <typename Scalar>
std::vector<std::string> DeviceNetwork<Scalar>::parameter_names() const {
  std::vector<std::string> names;
  for (const ParameterPlan& plan : impl_->parameters) names.push_back(plan.name);
  return names;
}

namespace {
template <typename Scalar>
const ParameterPlan& find_plan(const std::vector<ParameterPlan>& plans, const std::string& name) {
  for (const ParameterPlan& plan : plans)
    if (plan.name == name) return plan;
  throw std::invalid_argument("DeviceNetwork: no parameter named " + name);
}
}  // namespace

template <typename Scalar>
Matrix<Scalar> DeviceNetwork<Scalar>::parameter(const std::string& name) const {
  const ParameterPlan& plan = find_plan<Scalar>(impl_->parameters, name);
  Matrix<Scalar> value(plan.rows, plan.cols);
  impl_->copy_to_host(value.data(), impl_->values.data() + plan.offset, value.size(), "a parameter");
  return value;
}

template <typename Scalar>
Matrix<Scalar> DeviceNetwork<Scalar>::gradient(const std::string& name) const {
  const ParameterPlan& plan = find_plan<Scalar>(impl_->parameters, name);
  Matrix<Scalar> value(plan.rows, plan.cols);
  impl_->copy_to_host(value.data(), impl_->gradients.data() + plan.offset, value.size(), "a gradient");
  return value;
}

template <typename Scalar>
Index DeviceNetwork<Scalar>::steps() const {
  return impl_->steps;
}

template <typename Scalar>
Index DeviceNetwork<Scalar>::graphs_captured() const {
  return static_cast<Index>(impl_->graphs.size());
}

template <typename Scalar>
std::string device_layer_support(const Network<Scalar>& network) {
  try {
    for (Index i = 0; i < network.layer_count(); ++i) plan_layer(network.layer(i), i);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).substr(std::string("DeviceNetwork: ").size());
  }
  return network.layer_count() == 0 ? "the network has no layers" : "";
}

template std::string device_layer_support<float>(const Network<float>&);
template std::string device_layer_support<double>(const Network<double>&);
template class DeviceNetwork<float>;
template class DeviceNetwork<double>;

}  // namespace cuda
}  // namespace eigennet

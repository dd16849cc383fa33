#include "eigennet/cuda/device_training.hpp"

#include <algorithm>
#include <type_traits>

#include "eigennet/cuda/device_network.hpp"

namespace eigennet {
namespace cuda {

namespace {

// The device loss equal to the host's: softmax-cross-entropy always; the summed squared error
// where targets are matrices (not in the label-based training loops). Else why not (`why`).
template <typename Scalar>
DeviceLoss device_loss_for(const Loss<Scalar>& loss, bool with_targets, std::string& why) {
  if (auto* ce = dynamic_cast<const SoftmaxCrossEntropy<Scalar>*>(&loss))
    return {DeviceLoss::Kind::SoftmaxCrossEntropy, ce->log_epsilon()};
  if (with_targets && dynamic_cast<const SquaredError<Scalar>*>(&loss)) return {DeviceLoss::Kind::SquaredError, 0};
  why = "the loss " + loss.name() + " has no device version" +
        (with_targets ? " (softmax_cross_entropy and squared_error have)"
                      : " in the training loops (softmax_cross_entropy has)");
  return {};
}

// The device's loss and update equal to the host's, or why there is none (empty `why`).
template <typename Scalar>
DeviceOptions device_options_for(const Loss<Scalar>& loss, const Optimizer<Scalar>& optimizer, std::string& why) {
  DeviceOptions options;
  options.loss = device_loss_for(loss, false, why);
  if (!why.empty()) return options;
  options.optimizer.learning_rate = optimizer.learning_rate();
  if (dynamic_cast<const Sgd<Scalar>*>(&optimizer)) {
    options.optimizer.kind = DeviceOptimizer::Kind::Sgd;
  } else if (auto* momentum = dynamic_cast<const Momentum<Scalar>*>(&optimizer)) {
    options.optimizer.kind = DeviceOptimizer::Kind::Momentum;
    options.optimizer.momentum = momentum->momentum();
    options.optimizer.nesterov = momentum->nesterov();
  } else {
    why = "the optimizer has no device version (sgd and momentum without a schedule have; Adam and "
          "learning-rate schedules run on the CPU)";
  }
  return options;
}

template <typename Scalar>
class DeviceStepper final : public Stepper<Scalar> {
 public:
  DeviceStepper(Network<Scalar>& host, const DeviceOptions& options, const LabeledData<Scalar>& train)
      : host_(host), device_(host, options), learning_rate_(options.optimizer.learning_rate) {
    if (train.empty()) throw std::invalid_argument("device training: the training set is empty");
    Matrix<Scalar> converted;  // a set of bytes, converted for the upload
    device_.set_training_set(train.matrix(converted), *train.labels);
  }

  void step(const std::vector<Index>& indices) override {
    device_.step(indices);
    host_current_ = false;
  }
  void collect(std::vector<StepResult>& results) override { device_.step_results(results); }
  void update_host() override {
    if (host_current_) return;
    device_.copy_to(host_);
    host_current_ = true;
  }
  bool deferred() const override { return true; }
  void set_learning_rate(double learning_rate) override {
    device_.set_learning_rate(learning_rate);
    learning_rate_ = learning_rate;
  }
  double learning_rate() const override { return learning_rate_; }

 private:
  Network<Scalar>& host_;
  DeviceNetwork<Scalar> device_;
  double learning_rate_;
  bool host_current_ = true;
};

// The mirror's gradients at x: one forward_backward on the device (its loss needs no update).
template <typename Scalar, typename Target>
ExternalGradients<Scalar> gradients_on_device(Network<Scalar>& host, const Loss<Scalar>& loss, ConstMatrixRef<Scalar> x,
                                              const Target& target) {
  std::string why = device_layer_support(host);
  DeviceOptions options;
  if (why.empty()) options.loss = device_loss_for(loss, std::is_same_v<Target, ConstMatrixRef<Scalar>>, why);
  if (!why.empty()) throw std::invalid_argument("device gradients: " + why);
  if (!query_device().available) throw CudaError("device gradients: no GPU: " + query_device().reason);
  options.max_batch = std::max<Index>(1, x.rows());
  options.graph = false;
  DeviceNetwork<Scalar> device(host, options);
  device.forward_backward(x, target, true);
  ExternalGradients<Scalar> result;
  for (const std::string& name : device.parameter_names()) result.parameters.push_back(device.gradient(name));
  result.input = device.input_gradient();
  return result;
}

}  // namespace

template <typename Scalar>
std::string device_support(const Network<Scalar>& network, const Loss<Scalar>& loss,
                           const Optimizer<Scalar>& optimizer) {
  std::string why = device_layer_support(network);
  if (why.empty()) device_options_for(loss, optimizer, why);
  return why;
}

template <typename Scalar>
std::unique_ptr<Stepper<Scalar>> make_device_stepper(Network<Scalar>& host, const Loss<Scalar>& loss,
                                                     const Optimizer<Scalar>& optimizer,
                                                     const LabeledData<Scalar>& train, Index max_batch, bool tf32) {
  std::string why = device_layer_support(host);
  DeviceOptions options;
  if (why.empty()) options = device_options_for(loss, optimizer, why);
  if (!why.empty()) throw std::invalid_argument("device training: " + why);
  if (!query_device().available) throw CudaError("device training: no GPU: " + query_device().reason);
  options.max_batch = max_batch;
  options.tf32 = tf32;
  return std::make_unique<DeviceStepper<Scalar>>(host, options, train);
}

template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>& host, const Loss<Scalar>& loss, ConstMatrixRef<Scalar> x,
                                           ConstLabelsRef labels) {
  return gradients_on_device<Scalar>(host, loss, x, labels);
}

template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>& host, const Loss<Scalar>& loss, ConstMatrixRef<Scalar> x,
                                           ConstMatrixRef<Scalar> target) {
  return gradients_on_device<Scalar>(host, loss, x, target);
}

template std::string device_support<float>(const Network<float>&, const Loss<float>&, const Optimizer<float>&);
template std::string device_support<double>(const Network<double>&, const Loss<double>&, const Optimizer<double>&);
template std::unique_ptr<Stepper<float>> make_device_stepper<float>(Network<float>&, const Loss<float>&,
                                                                    const Optimizer<float>&,
                                                                    const LabeledData<float>&, Index, bool);
template std::unique_ptr<Stepper<double>> make_device_stepper<double>(Network<double>&, const Loss<double>&,
                                                                      const Optimizer<double>&,
                                                                      const LabeledData<double>&, Index, bool);
#define EIGENNET_INSTANTIATE(Scalar)                                                                              \
  template ExternalGradients<Scalar> device_gradients<Scalar>(Network<Scalar>&, const Loss<Scalar>&,               \
                                                              ConstMatrixRef<Scalar>, ConstLabelsRef);            \
  template ExternalGradients<Scalar> device_gradients<Scalar>(Network<Scalar>&, const Loss<Scalar>&,               \
                                                              ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace cuda
}  // namespace eigennet

// Device-resident training of a host Network (builds with CUDA only: EIGENNET_HAVE_CUDA).
//
// A DeviceNetwork is a mirror of a host Network<Scalar> on the GPU: the same layers (Dense, ReLU,
// Sigmoid, Tanh), the same parameters under the same names ("layer0.dense.W", bias as the last
// row of W), and the same closed-form forward and backward equations as the CPU layers
// (src/layers/dense.cpp, relu.cpp, sigmoid.cpp, tanh.cpp), written as cuBLAS GEMMs and
// small kernels (src/cuda/kernels.cu). Losses: fused softmax-cross-entropy (P − Y)/N on
// integer labels, and the summed squared error 2(O − T), as in model/loss.hpp. Optimizers: SGD and
// momentum, the update equations of train/optimizer.hpp.
//
// Training: the training set is uploaded once; each step() uploads only the batch's row
// indices (drawn by the caller, e.g. with the CPU run's BatchSampler, so both runs see the same
// batches) and replays the whole step — gather, forward, loss, backward, update — captured once
// per batch size in a CUDA graph. Every device buffer is allocated by the constructor and
// set_training_set(); a step allocates nothing. The loss stays on the device until loss() is
// called.
//
// A NaN or ±Inf loss stops training as on the CPU: that step's update and every later one are
// skipped on the device (the parameters stay those before it), and the next loss() or
// synchronize() throws TrainingDiverged naming the step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/cuda/device.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/train.hpp"
#include "eigennet/types.hpp"

namespace eigennet {
namespace cuda {

// The loss on the network's output (model/loss.hpp's conventions; the 1/N lives in the loss only).
struct DeviceLoss {
  enum class Kind {
    SoftmaxCrossEntropy,  // on logits, integer labels: L = −(1/N) Σ log p_label, dL/dz = (P − Y)/N
    SquaredError,         // target matrix: L = Σ (o − t)², dL/do = 2(o − t)
  };
  Kind kind = Kind::SoftmaxCrossEntropy;
  // SoftmaxCrossEntropy only: report −(1/N) Σ log(p + eps) (the notebook's eps = 1e-7); the
  // gradient stays (P − Y)/N. 0: the exact log-sum-exp form.
  double log_epsilon = 0;
};

// The update (train/optimizer.hpp): SGD  W ← W − ε·dW;  momentum  v ← μ·v + dW, W ← W − ε·v
// (Nesterov: W ← W − ε·(dW + μ·v)), v starting at zero.
struct DeviceOptimizer {
  enum class Kind { Sgd, Momentum };
  Kind kind = Kind::Sgd;
  double learning_rate = 0.01;
  double momentum = 0.9;
  bool nesterov = false;
};

struct DeviceOptions {
  Index max_batch = 0;  // the largest batch the network will see (> 0); buffers are sized for it
  DeviceLoss loss;
  DeviceOptimizer optimizer;
  bool tf32 = false;   // TensorFloat-32 in float GEMMs (faster, ~1e-3 relative error): only when asked
  bool graph = true;   // capture the training step once in a CUDA graph and replay it
  // Steps whose loss and batch accuracy the device keeps until step_results() fetches them;
  // step() fetches them itself (one wait) when this many are pending. The host keeps room for
  // this many fetched results: a caller that calls step_results() at least this often makes
  // step() allocate nothing on the host and never wait to fetch the log. (step() still waits
  // when the host runs more than a few steps ahead of the device: see step().)
  Index step_log = 4096;
};

template <typename Scalar>
class DeviceNetwork {
 public:
  // Copies host's layers and parameters to the device. Throws std::invalid_argument naming the
  // layer when one has no device version, CudaError where no device answers.
  DeviceNetwork(Network<Scalar>& host, const DeviceOptions& options);
  ~DeviceNetwork();
  DeviceNetwork(DeviceNetwork&&) noexcept;
  DeviceNetwork& operator=(DeviceNetwork&&) noexcept;

  // Parameters host → device (host must have the same parameter names and shapes) and back.
  void copy_from(Network<Scalar>& host);
  void copy_to(Network<Scalar>& host) const;

  // The training set: x (M×input_size) with labels (M) for softmax-cross-entropy, or with
  // targets (M×output_size) for the squared error. Uploaded once; replaces any previous set
  // (and the graphs captured on it: the next steps capture again).
  void set_training_set(ConstMatrixRef<Scalar> x, ConstLabelsRef labels);
  void set_training_set(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> targets);

  // One training step on the training-set rows `indices` (1 … max_batch of them, each in
  // [0, M)). Returns without waiting for the device, unless the host is four steps ahead of it:
  // then it waits for the oldest of them to have read its indices.
  void step(const std::vector<Index>& indices);
  // The loss of the last step or forward_backward (waits for the device). Throws
  // TrainingDiverged after a NaN/Inf loss.
  Scalar loss();
  // Appends each step's loss and batch accuracy (softmax-cross-entropy; NaN for the squared error)
  // since the last call, in order (waits for the device). A NaN/Inf loss is reported here as
  // it is, not thrown: the steps after it did not update the parameters.
  void step_results(std::vector<StepResult>& results);
  // Waits for the device; throws TrainingDiverged after a NaN/Inf loss.
  void synchronize();
  // ε of the update, from the next step on (e.g. for a schedule); positive and finite.
  void set_learning_rate(double learning_rate);

  // Evaluation and checks on host batches (N ≤ max_batch rows), outside the training set:
  // the network's output; forward, loss and backward (no update) returning the loss, after
  // which gradient(name) and, when asked, input_gradient() hold dL/dθ and dL/dX.
  Matrix<Scalar> forward(ConstMatrixRef<Scalar> x);
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels, bool compute_input_gradient = false);
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> targets,
                          bool compute_input_gradient = false);
  Matrix<Scalar> input_gradient() const;

  // Parameter names in the host network's order ("layer0.dense.W", …), and device copies.
  std::vector<std::string> parameter_names() const;
  Matrix<Scalar> parameter(const std::string& name) const;
  Matrix<Scalar> gradient(const std::string& name) const;

  // Steps taken, and CUDA graphs captured (one per batch size seen; 0 without options.graph).
  Index steps() const;
  Index graphs_captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class DeviceNetwork<float>;
extern template class DeviceNetwork<double>;

// Empty when every layer of `network` has a device version (dense, relu, sigmoid, tanh), else
// which one has none.
template <typename Scalar>
std::string device_layer_support(const Network<Scalar>& network);

}  // namespace cuda
}  // namespace eigennet

// The training loops (train/train.hpp) on the GPU: a Stepper whose steps run on a DeviceNetwork
// mirror of the host network. The loops still draw the batches on the host (the same
// RandomState draws as a CPU run, so both runs see the same batches), keep the history and run
// the test passes on the host network, to which the stepper copies the trained parameters
// first. Step results stay on the device until a pass or an epoch's end (no wait per step).
//
// Declared in every build: where eigennet was built without CUDA, or no device answers,
// make_device_stepper throws CudaError with query_device()'s reason.
#pragma once

#include <memory>
#include <string>

#include "eigennet/cuda/device.hpp"
#include "eigennet/model/gradcheck.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/train/train.hpp"

namespace eigennet {
namespace cuda {

// Empty when the network, loss and optimizer all have device versions (layers dense, relu,
// sigmoid, tanh; the softmax-cross-entropy loss; SGD or momentum, without a schedule), else
// what has none, e.g. "layer1 (conv2d ...) has no device version (...)".
template <typename Scalar>
std::string device_support(const Network<Scalar>& network, const Loss<Scalar>& loss,
                           const Optimizer<Scalar>& optimizer);

// A stepper for TrainingHooks::stepper training `host` on the GPU with the same loss and update
// as `loss` and `optimizer` (their settings are copied; the host optimizer is not used). The
// training set is uploaded once; max_batch is the loops' batch size. tf32: TensorFloat-32 in
// float products (only when asked). Throws std::invalid_argument with device_support()'s
// answer, CudaError where no device answers or the build has no CUDA.
template <typename Scalar>
std::unique_ptr<Stepper<Scalar>> make_device_stepper(Network<Scalar>& host, const Loss<Scalar>& loss,
                                                     const Optimizer<Scalar>& optimizer,
                                                     const LabeledData<Scalar>& train, Index max_batch, bool tf32);

// dL/dθ (in parameters() order) and dL/dX of `host`'s GPU mirror under `loss` at x, for the
// gradient checker: labels with the softmax-cross-entropy loss, a target matrix with the summed
// squared error. Throws std::invalid_argument for what has no device version, CudaError where
// no device answers or the build has no CUDA.
template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>& host, const Loss<Scalar>& loss, ConstMatrixRef<Scalar> x,
                                           ConstLabelsRef labels);
template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>& host, const Loss<Scalar>& loss, ConstMatrixRef<Scalar> x,
                                           ConstMatrixRef<Scalar> target);

}  // namespace cuda
}  // namespace eigennet

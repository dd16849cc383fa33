// A sequential network that owns its activation and gradient buffers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eigennet/layers/layer.hpp"
#include "eigennet/model/loss.hpp"

namespace eigennet {

// Layers in order. Buffers are sized once for a maximum batch (reserve); a smaller batch uses
// the first rows of each buffer, so a training loop allocates nothing after its first step.
// A batch larger than the reserved size grows the buffers (one allocation, then none).
template <typename Scalar>
class Network {
 public:
  Network() = default;
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  // Appends a layer. Throws std::invalid_argument naming both layers and sizes when its input
  // size differs from the previous layer's output size.
  Network& add(LayerPtr<Scalar> layer);
  template <typename LayerType, typename... Args>
  LayerType& emplace(Args&&... args) {
    auto layer = std::make_unique<LayerType>(std::forward<Args>(args)...);
    LayerType& ref = *layer;
    add(std::move(layer));
    return ref;
  }

  // A deep copy: the same layers with copies of their parameters, and buffers for the same batch.
  Network clone() const;
  // The same network in double precision, its parameters copied (each layer's to_double()).
  Network<double> to_double() const;

  Index layer_count() const { return static_cast<Index>(layers_.size()); }
  Layer<Scalar>& layer(Index i) { return *layers_.at(static_cast<std::size_t>(i)); }
  const Layer<Scalar>& layer(Index i) const { return *layers_.at(static_cast<std::size_t>(i)); }
  Index input_size() const;
  Index output_size() const;

  // Allocates activations and gradients for batches of up to max_batch rows.
  void reserve(Index max_batch);
  Index reserved_batch() const { return max_batch_; }

  // x: N×input_size → the output N×output_size (a view into the network's buffer, valid
  // until the next forward). X is copied into the network's input buffer (backward reads it
  // there), unless it is that buffer (input_buffer).
  ConstMatrixRef<Scalar> forward(ConstMatrixRef<Scalar> x);

  // The network's input buffer for a batch of `rows` rows (grown if needed, so call it before
  // filling). A batch gathered straight into it is not copied again: forward and the
  // forward_backward calls read it where it lies.
  MatrixRef<Scalar> input_buffer(Index rows);

  // d_output: N×output_size, dL/d(output) of the last forward's batch. Overwrites every
  // parameter gradient; with compute_input_gradient, dL/dX is then in input_gradient().
  void backward(ConstMatrixRef<Scalar> d_output, bool compute_input_gradient = false);

  // forward, loss, dL/d(output), backward, in one call without allocation; returns the loss.
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target, const Loss<Scalar>& loss,
                          bool compute_input_gradient = false);
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss,
                          bool compute_input_gradient = false);

  // True when every layer's backward_sgd applies plain SGD itself (Dense and parameter-free
  // layers), so that forward_backward_sgd can train this network.
  bool has_fused_sgd() const;
  // One training step with plain SGD (the notebook's W ← W − ε·dW) fused into the backward:
  // forward, loss and, when the loss is finite, each layer's backward_sgd (layer.hpp), so no
  // gradient is stored and read back; returns the loss. The same step as forward_backward then
  // Sgd::step up to rounding, and no update when the loss is NaN or ±Inf. Throws
  // std::logic_error naming the layer unless has_fused_sgd().
  Scalar forward_backward_sgd(ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss,
                              Scalar learning_rate);

  // Views of the last batch: the output, dL/d(output) buffer, and dL/dX.
  ConstMatrixRef<Scalar> output() const;
  MatrixRef<Scalar> output_gradient();
  ConstMatrixRef<Scalar> input_gradient() const;
  Index batch_size() const { return batch_; }

  // Every trainable tensor, named "layer<i>.<kind>.<name>" (e.g. "layer0.dense.W"), in order.
  ParameterList<Scalar> parameters();
  Index parameter_count() const;

  // One line per layer with sizes and parameter counts, and the total.
  std::string summary() const;

 private:
  void begin_batch(Index rows);
  // The layers' backward from gradients_.back(), last to first; with sgd_rate, their backward_sgd.
  void backward_layers(bool compute_input_gradient, const Scalar* sgd_rate);
  // The first layer whose backward_sgd does not apply the update; layer_count() if none.
  std::size_t first_unfused_layer() const;

  std::vector<LayerPtr<Scalar>> layers_;
  // activations_[0] is the input, activations_[i+1] the output of layer i;
  // gradients_[i] is dL/d activations_[i].
  std::vector<Matrix<Scalar>> activations_, gradients_;
  Index max_batch_ = 0;
  Index batch_ = 0;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace eigennet

#include "eigennet/model/network.hpp"

#include <cmath>
#include <sstream>

namespace eigennet {

template <typename Scalar>
Network<Scalar>& Network<Scalar>::add(LayerPtr<Scalar> layer) {
  if (!layer) throw std::invalid_argument("network: cannot add a null layer");
  if (!layers_.empty() && layers_.back()->output_size() != layer->input_size())
    throw std::invalid_argument("network: layer " + std::to_string(layers_.size()) + " (" + layer->describe() +
                                ") takes N×" + std::to_string(layer->input_size()) + " but layer " +
                                std::to_string(layers_.size() - 1) + " (" + layers_.back()->describe() +
                                ") gives N×" + std::to_string(layers_.back()->output_size()));
  layers_.push_back(std::move(layer));
  max_batch_ = 0;  // buffers must be re-sized for the new layer list
  return *this;
}

template <typename Scalar>
Network<Scalar> Network<Scalar>::clone() const {
  Network copy;
  for (const auto& layer : layers_) copy.add(layer->clone());
  if (max_batch_ > 0) copy.reserve(max_batch_);
  return copy;
}

template <typename Scalar>
Network<double> Network<Scalar>::to_double() const {
  Network<double> promoted;
  for (const auto& layer : layers_) promoted.add(layer->to_double());
  return promoted;
}

template <typename Scalar>
Index Network<Scalar>::input_size() const {
  if (layers_.empty()) throw std::logic_error("network has no layers");
  return layers_.front()->input_size();
}

template <typename Scalar>
Index Network<Scalar>::output_size() const {
  if (layers_.empty()) throw std::logic_error("network has no layers");
  return layers_.back()->output_size();
}

template <typename Scalar>
void Network<Scalar>::reserve(Index max_batch) {
  if (layers_.empty()) throw std::logic_error("network: reserve() before any layer was added");
  if (max_batch <= 0) throw std::invalid_argument("network: batch size must be positive, got " + std::to_string(max_batch));
  activations_.assign(layers_.size() + 1, Matrix<Scalar>());
  gradients_.assign(layers_.size() + 1, Matrix<Scalar>());
  activations_[0].setZero(max_batch, input_size());
  gradients_[0].setZero(max_batch, input_size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    activations_[i + 1].setZero(max_batch, layers_[i]->output_size());
    gradients_[i + 1].setZero(max_batch, layers_[i]->output_size());
    layers_[i]->reserve(max_batch);
  }
  max_batch_ = max_batch;
}

template <typename Scalar>
void Network<Scalar>::begin_batch(Index rows) {
  if (rows <= 0) throw std::invalid_argument("network: empty batch (0 rows)");
  if (rows > max_batch_) reserve(rows);
  batch_ = rows;
}

template <typename Scalar>
MatrixRef<Scalar> Network<Scalar>::input_buffer(Index rows) {
  if (layers_.empty()) throw std::logic_error("network: input_buffer() with no layers");
  begin_batch(rows);
  return activations_[0].topRows(rows);
}

// x: N×D_in → N×D_out. Each layer reads the rows [0, N) of its input buffer.
template <typename Scalar>
ConstMatrixRef<Scalar> Network<Scalar>::forward(ConstMatrixRef<Scalar> x) {
  if (layers_.empty()) throw std::logic_error("network: forward() with no layers");
  require_cols(x, input_size(), "network: input X");
  begin_batch(x.rows());
  if (x.data() != activations_[0].data() || x.outerStride() != activations_[0].outerStride())
    activations_[0].topRows(batch_) = x;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    layers_[i]->forward(activations_[i].topRows(batch_), activations_[i + 1].topRows(batch_));
  return output();
}

template <typename Scalar>
void Network<Scalar>::backward(ConstMatrixRef<Scalar> d_output, bool compute_input_gradient) {
  if (batch_ == 0) throw std::logic_error("network: backward() before forward()");
  require_shape(d_output, batch_, output_size(), "network: dL/d(output)");
  const std::size_t last = layers_.size();
  if (d_output.data() != gradients_[last].data()) gradients_[last].topRows(batch_) = d_output;
  backward_layers(compute_input_gradient, nullptr);
}

// Walks the layers backwards; the first layer skips dL/dX unless asked (it is not needed to
// train and costs a full GEMM).
template <typename Scalar>
void Network<Scalar>::backward_layers(bool compute_input_gradient, const Scalar* sgd_rate) {
  for (std::size_t i = layers_.size(); i-- > 0;) {
    const bool need_dx = i > 0 || compute_input_gradient;
    auto x = activations_[i].topRows(batch_);
    auto y = activations_[i + 1].topRows(batch_);
    auto dy = gradients_[i + 1].topRows(batch_);
    auto dx = gradients_[i].topRows(batch_);
    if (sgd_rate)
      layers_[i]->backward_sgd(x, y, dy, dx, need_dx, *sgd_rate);
    else
      layers_[i]->backward(x, y, dy, dx, need_dx);
  }
}

template <typename Scalar>
std::size_t Network<Scalar>::first_unfused_layer() const {
  std::size_t i = 0;
  while (i < layers_.size() && layers_[i]->has_fused_sgd()) ++i;
  return i;
}

template <typename Scalar>
bool Network<Scalar>::has_fused_sgd() const {
  return first_unfused_layer() == layers_.size();
}

template <typename Scalar>
Scalar Network<Scalar>::forward_backward_sgd(ConstMatrixRef<Scalar> x, ConstLabelsRef labels,
                                             const Loss<Scalar>& loss, Scalar learning_rate) {
  // Checked before any layer updates: a later refusal would leave the update half applied.
  if (const std::size_t i = first_unfused_layer(); i < layers_.size())
    throw std::logic_error("network: layer " + std::to_string(i) + " (" + layers_[i]->describe() +
                           ") has no backward with a fused SGD update; use forward_backward and Sgd::step");
  ConstMatrixRef<Scalar> out = forward(x);
  const Scalar value = loss.value_and_gradient_labels(out, labels, output_gradient());
  if (!std::isfinite(value)) return value;
  backward_layers(false, &learning_rate);
  return value;
}

template <typename Scalar>
Scalar Network<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                                         const Loss<Scalar>& loss, bool compute_input_gradient) {
  ConstMatrixRef<Scalar> out = forward(x);
  const Scalar value = loss.value_and_gradient(out, target, output_gradient());
  backward(output_gradient(), compute_input_gradient);
  return value;
}

template <typename Scalar>
Scalar Network<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss,
                                         bool compute_input_gradient) {
  ConstMatrixRef<Scalar> out = forward(x);
  const Scalar value = loss.value_and_gradient_labels(out, labels, output_gradient());
  backward(output_gradient(), compute_input_gradient);
  return value;
}

template <typename Scalar>
ConstMatrixRef<Scalar> Network<Scalar>::output() const {
  if (batch_ == 0) throw std::logic_error("network: output() before forward()");
  return activations_.back().topRows(batch_);
}

template <typename Scalar>
MatrixRef<Scalar> Network<Scalar>::output_gradient() {
  if (batch_ == 0) throw std::logic_error("network: output_gradient() before forward()");
  return gradients_.back().topRows(batch_);
}

template <typename Scalar>
ConstMatrixRef<Scalar> Network<Scalar>::input_gradient() const {
  if (batch_ == 0) throw std::logic_error("network: input_gradient() before backward()");
  return gradients_.front().topRows(batch_);
}

template <typename Scalar>
ParameterList<Scalar> Network<Scalar>::parameters() {
  ParameterList<Scalar> all;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    for (auto& p : layers_[i]->parameters())
      all.push_back({"layer" + std::to_string(i) + "." + layers_[i]->kind() + "." + p.name, p.value, p.gradient});
  return all;
}

template <typename Scalar>
Index Network<Scalar>::parameter_count() const {
  Index count = 0;
  for (const auto& layer : layers_)
    for (const auto& p : layer->parameters()) count += p.value->size();
  return count;
}

template <typename Scalar>
std::string Network<Scalar>::summary() const {
  std::ostringstream out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Index count = 0;
    for (const auto& p : layers_[i]->parameters()) count += p.value->size();
    out << "  layer" << i << "  " << layers_[i]->describe() << "  params " << count << "\n";
  }
  out << "  total parameters: " << parameter_count() << "\n";
  return out.str();
}

template class Network<float>;
template class Network<double>;

}  // namespace eigennet

// The layer interface.
//
// Conventions (every layer follows them; the gradient checker relies on them):
// - Rows are samples: forward maps X (N×input_size) to Y (N×output_size).
// - The caller owns and sizes every buffer; layers write into the Refs they are given and
//   allocate nothing after construction.
// - backward receives the forward input X, the forward output Y and dL/dY. It OVERWRITES the
//   gradients of the layer's parameters with dL/dθ for this batch (two calls give identical
//   gradients) and, when compute_input_gradient is true, writes dL/dX into dx. When it is
//   false (the first layer of a network), dx is not touched and may be an empty Ref.
// - backward may only be called after forward on the same X (some layers keep forward state,
//   e.g. the arg-max of a max-pool).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "eigennet/model/parameter.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

template <typename Scalar>
class Layer {
 public:
  virtual ~Layer() = default;

  // Short kind name used in parameter names and reports: "dense", "relu", "conv2d", ...
  virtual std::string kind() const = 0;
  // One-line description with sizes, e.g. "dense 784→1000 (+bias)".
  virtual std::string describe() const = 0;

  virtual Index input_size() const = 0;
  virtual Index output_size() const = 0;

  // X: N×input_size → Y: N×output_size.
  virtual void forward(ConstMatrixRef<Scalar> x, MatrixRef<Scalar> y) = 0;

  // X: N×input_size, Y: N×output_size, dY: N×output_size → dX: N×input_size (if asked).
  virtual void backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                        MatrixRef<Scalar> dx, bool compute_input_gradient) = 0;

  // backward with plain SGD fused in: the layer's parameters become θ − ε·dL/dθ (the notebook's
  // update, W ← W − ε·dW) and dX is computed from θ before the update; the gradient buffers are
  // then left as they were (dL/dθ is not stored). A layer with parameters overrides it only where
  // it fuses the update into its backward's products (Dense); has_fused_sgd() says which.
  // Parameter-free layers: it is backward.
  virtual void backward_sgd(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> y, ConstMatrixRef<Scalar> dy,
                            MatrixRef<Scalar> dx, bool compute_input_gradient, Scalar learning_rate) {
    (void)learning_rate;
    if (!has_fused_sgd()) throw std::logic_error(describe() + ": no backward with a fused SGD update");
    backward(x, y, dy, dx, compute_input_gradient);
  }
  // True where backward_sgd applies the update: parameter-free layers and those that fuse it.
  virtual bool has_fused_sgd() { return parameters().empty(); }

  // The layer's trainable tensors, named by their short names ("W", "b"); a network prefixes
  // them with the layer's position. Empty for parameter-free layers.
  virtual ParameterList<Scalar> parameters() { return {}; }

  // Called once by a network with the largest batch it will see, so layers that keep
  // per-sample state or workspaces (pooling arg-max, im2col buffers) can allocate up front.
  virtual void reserve(Index max_batch) { (void)max_batch; }

  // An independent copy (parameters, gradients and workspaces included), for replicas of a
  // network (DataParallel). Layers that cannot be copied keep this default, which throws.
  virtual std::unique_ptr<Layer<Scalar>> clone() const {
    throw std::logic_error(describe() + ": this layer has no clone(), so it cannot be replicated");
  }

  // The same layer in double precision, its parameters copied. The gradient checker checks a
  // float layer through this copy (float central differences cannot resolve small gradients)
  // and holds the float backward to the double one. Layers that cannot be promoted keep this
  // default, which throws; the checker then falls back to float central differences.
  virtual std::unique_ptr<Layer<double>> to_double() const {
    throw std::logic_error(describe() + ": this layer has no to_double()");
  }

  // Shape checks shared by all layers: throw std::invalid_argument naming both shapes.
  void check_forward_shapes(const ConstMatrixRef<Scalar>& x, const MatrixRef<Scalar>& y) const;
  void check_backward_shapes(const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& y,
                             const ConstMatrixRef<Scalar>& dy, const MatrixRef<Scalar>& dx,
                             bool compute_input_gradient) const;
};

template <typename Scalar>
using LayerPtr = std::unique_ptr<Layer<Scalar>>;

template <typename Scalar>
void Layer<Scalar>::check_forward_shapes(const ConstMatrixRef<Scalar>& x, const MatrixRef<Scalar>& y) const {
  require_cols(x, input_size(), [&] { return describe() + ": input X"; });
  require_shape(y, x.rows(), output_size(), [&] { return describe() + ": output Y"; });
}

template <typename Scalar>
void Layer<Scalar>::check_backward_shapes(const ConstMatrixRef<Scalar>& x, const ConstMatrixRef<Scalar>& y,
                                          const ConstMatrixRef<Scalar>& dy, const MatrixRef<Scalar>& dx,
                                          bool compute_input_gradient) const {
  require_cols(x, input_size(), [&] { return describe() + ": input X"; });
  require_shape(y, x.rows(), output_size(), [&] { return describe() + ": output Y"; });
  require_shape(dy, x.rows(), output_size(), [&] { return describe() + ": gradient dY"; });
  if (compute_input_gradient)
    require_shape(dx, x.rows(), input_size(), [&] { return describe() + ": gradient dX"; });
}

}  // namespace eigennet

// The CNN recipes: notebook-cnn (the notebook's convolutional network, step by step
// as the notebook runs it) and lenet (a deeper network past 99% on MNIST).
//
// Images are 28×28 rows of 784 pixels, channel-major (1×28×28); every feature map keeps that
// layout (C×H×W in each row, PyTorch's NCHW order), so the dense layer after the last pooling
// takes the maps as they are: flattening is the identity and needs no layer.
#include <memory>

#include "eigennet/layers/conv2d.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/model/init.hpp"
#include "eigennet/layers/maxpool2d.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/layers/relu.hpp"
#include "recipes.hpp"

namespace eigennet::tools {

namespace {

// conv (k×k, stride 1, no padding) → ReLU → max-pool; returns the pool's output shape.
template <typename Scalar>
ImageShape add_conv_block(Network<Scalar>& net, RandomState& rng, const InitOptions& init, ImageShape input,
                          Index channels, Index kernel, Index pool, bool ceil_mode) {
  auto& conv = net.template emplace<Conv2d<Scalar>>(input, channels, kernel);
  initialize(conv, rng, init);
  net.template emplace<Relu<Scalar>>(conv.output_size());
  return net.template emplace<MaxPool2d<Scalar>>(conv.output_shape(), pool, pool, 0, ceil_mode).output_shape();
}

}  // namespace

void register_cnn_recipes() {
  // The notebook's CNN, step by step as the notebook runs it.
  Settings notebook = notebook_procedure();
  notebook.dtype = Dtype::Float;
  register_recipe(make_recipe(
      "notebook-cnn",
      "the notebook's CNN: conv 5×5 1→10 (+bias) → ReLU → max-pool 2×2 stride 2 ceil_mode → flatten (1440) → "
      "dense 1440→10 (+bias), softmax cross-entropy, float32; normal(0, 0.01) from RandomState(42) drawn as conv W "
      "(10,1,5,5), conv b (10), dense W (1440,10), dense b (10); whole-set normalisation, SGD lr 0.01, batch 40 by "
      "randint(0, 60000, 40), 400 iterations, test every 10",
      notebook, {}, [](auto tag, const Settings& s, RandomState& rng) {
        using Scalar = decltype(tag);
        Model<Scalar> m;
        const ImageShape maps = add_conv_block(m.network, rng, s.init, ImageShape{1, 28, 28}, 10, 5, 2, true);
        // eigennet's dense W is (1440+1)×10 with the bias as its last row: drawing the whole
        // matrix in row order draws the (1440,10) weights, then the (10) bias, as the notebook.
        initialize(m.network.template emplace<Dense<Scalar>>(maps.size(), 10), rng, s.init);
        m.loss = std::make_unique<SoftmaxCrossEntropy<Scalar>>();
        m.optimizer = make_optimizer<Scalar>(s, m.network);
        return m;
      }));

  // A LeNet-5-like network (Caffe's LeNet: 20 and 50 feature maps, a 500-wide hidden layer).
  Settings lenet = pytorch_procedure();
  lenet.optimizer = "adam";
  lenet.learning_rate = 1e-3;
  lenet.batch_size = 64;
  lenet.epochs = 8;
  register_recipe(make_recipe(
      "lenet",
      "LeNet-like CNN: conv 5×5 1→20 → ReLU → max-pool 2 → conv 5×5 20→50 → ReLU → max-pool 2 → dense 800→500 → "
      "ReLU → dense 500→10, softmax cross-entropy, float32; PyTorch-default init U(±1/√fan_in); normalised with "
      "(0.1307, 0.3081); Adam lr 0.001 decaying ×0.7 per 60000 samples (smoothly, step by step), batch 64, "
      "8 shuffled epochs",
      lenet, {}, [](auto tag, const Settings& s, RandomState& rng) {
        using Scalar = decltype(tag);
        Model<Scalar> m;
        ImageShape maps = add_conv_block(m.network, rng, s.init, ImageShape{1, 28, 28}, 20, 5, 2, false);
        maps = add_conv_block(m.network, rng, s.init, maps, 50, 5, 2, false);
        initialize(m.network.template emplace<Dense<Scalar>>(maps.size(), 500), rng, s.init);
        m.network.template emplace<Relu<Scalar>>(500);
        initialize(m.network.template emplace<Dense<Scalar>>(500, 10), rng, s.init);
        m.loss = std::make_unique<SoftmaxCrossEntropy<Scalar>>();
        // ×0.7 per 60000 samples: per epoch of MNIST's training set, whatever the batch size.
        m.optimizer = std::make_unique<ExponentialDecay<Scalar>>(make_optimizer<Scalar>(s, m.network), 0.7,
                                                                 60000.0 / double(s.batch_size));
        return m;
      }));
}

}  // namespace eigennet::tools

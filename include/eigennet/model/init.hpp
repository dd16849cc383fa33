// Weight initialisers. Each takes the random generator explicitly and fills a matrix in
// row-major order, drawing as numpy would for an array of that shape. initialize() is the one
// place that knows the schemes; it covers every layer with parameters (Dense, Conv2d).
#pragma once

#include <string>

#include "eigennet/layers/conv2d.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/random.hpp"

namespace eigennet {

// Every entry ~ normal(mean, std).
template <typename Scalar>
void init_normal(Matrix<Scalar>& m, RandomState& rng, double mean, double std);

// Every entry ~ uniform(low, high).
template <typename Scalar>
void init_uniform(Matrix<Scalar>& m, RandomState& rng, double low, double high);

// How a layer's weights and bias are drawn. fan_in: the inputs of one output (dense: D_in;
// conv: C_in·kh·kw); fan_out: the outputs one input feeds (dense: D_out; conv: C_out·kh·kw).
enum class InitScheme {
  Normal,        // W and bias ~ normal(mean, std)                       (the notebook: 0, 0.01)
  Uniform,       // W and bias ~ uniform(low, high)                      (the exercise: −0.5, 0.5)
  TorchDefault,  // W and bias ~ U(±1/√fan_in)                           (PyTorch nn.Linear, nn.Conv2d)
  Glorot,        // W ~ U(±√(6/(fan_in+fan_out))), bias 0                (Glorot & Bengio)
  He,            // W ~ normal(0, √(2/fan_in)), bias 0                   (He et al., for ReLU)
};

struct InitOptions {
  InitScheme scheme = InitScheme::TorchDefault;
  double a = 0.0;  // mean (Normal) or low (Uniform)
  double b = 0.0;  // std (Normal) or high (Uniform)
};

// Parses "normal", "uniform", "torch", "glorot", "he"; throws std::invalid_argument otherwise.
InitScheme parse_init_scheme(const std::string& name);
std::string init_scheme_name(InitScheme scheme);

// Fills a dense layer's whole W according to the scheme: the bias row is drawn after the weight
// rows, as the last row of the same row-major array (numpy: W (D_in, D_out), then b (D_out)).
// Glorot, He: the bias row is drawn with W, then set to zero.
template <typename Scalar>
void initialize(Dense<Scalar>& layer, RandomState& rng, const InitOptions& options);

// Fills a convolution's W (C_out × C_in·kh·kw, PyTorch's (out, in, kh, kw) order), then its
// bias (C_out) according to the scheme. Glorot, He: the bias is set to zero, not drawn.
template <typename Scalar>
void initialize(Conv2d<Scalar>& layer, RandomState& rng, const InitOptions& options);

}  // namespace eigennet

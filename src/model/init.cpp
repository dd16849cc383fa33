#include "eigennet/model/init.hpp"

#include <cmath>

namespace eigennet {

template <typename Scalar>
void init_normal(Matrix<Scalar>& m, RandomState& rng, double mean, double std) {
  rng.fill_normal(m, mean, std);
}

template <typename Scalar>
void init_uniform(Matrix<Scalar>& m, RandomState& rng, double low, double high) {
  rng.fill_uniform(m, low, high);
}

InitScheme parse_init_scheme(const std::string& name) {
  if (name == "normal") return InitScheme::Normal;
  if (name == "uniform") return InitScheme::Uniform;
  if (name == "torch") return InitScheme::TorchDefault;
  if (name == "glorot") return InitScheme::Glorot;
  if (name == "he") return InitScheme::He;
  throw std::invalid_argument("unknown initialisation '" + name + "' (expected normal, uniform, torch, glorot or he)");
}

std::string init_scheme_name(InitScheme scheme) {
  switch (scheme) {
    case InitScheme::Normal: return "normal";
    case InitScheme::Uniform: return "uniform";
    case InitScheme::TorchDefault: return "torch";
    case InitScheme::Glorot: return "glorot";
    case InitScheme::He: return "he";
  }
  return "?";
}

namespace {

// fan_in: the inputs of one output; fan_out: the outputs one input feeds (see InitScheme).
struct Fans {
  double in, out;
};

// Fills m from the scheme's distribution for weights of these fans.
template <typename Scalar>
void draw(Matrix<Scalar>& m, RandomState& rng, const InitOptions& options, Fans fans) {
  switch (options.scheme) {
    case InitScheme::Normal: init_normal(m, rng, options.a, options.b); break;
    case InitScheme::Uniform: init_uniform(m, rng, options.a, options.b); break;
    case InitScheme::TorchDefault: {
      const double bound = 1.0 / std::sqrt(fans.in);
      init_uniform(m, rng, -bound, bound);
      break;
    }
    case InitScheme::Glorot: {
      const double bound = std::sqrt(6.0 / (fans.in + fans.out));
      init_uniform(m, rng, -bound, bound);
      break;
    }
    case InitScheme::He: init_normal(m, rng, 0.0, std::sqrt(2.0 / fans.in)); break;
  }
}

// Whether the bias is drawn as the weights are (true) or zero (false).
bool draws_bias(InitScheme scheme) { return scheme != InitScheme::Glorot && scheme != InitScheme::He; }

}  // namespace

template <typename Scalar>
void initialize(Dense<Scalar>& layer, RandomState& rng, const InitOptions& options) {
  Matrix<Scalar>& w = layer.weights();  // (D_in + 1) × D_out with bias, D_in × D_out without
  draw(w, rng, options, {double(layer.input_size()), double(layer.output_size())});
  if (layer.has_bias() && !draws_bias(options.scheme)) w.row(layer.input_size()).setZero();
}

template <typename Scalar>
void initialize(Conv2d<Scalar>& layer, RandomState& rng, const InitOptions& options) {
  // W: C_out × (C_in·kh·kw), so fan_in = C_in·kh·kw and fan_out = C_out·kh·kw.
  const Index kernel_area = layer.kernel_h() * layer.kernel_w();
  const Fans fans{double(layer.weights().cols()), double(layer.weights().rows() * kernel_area)};
  draw(layer.weights(), rng, options, fans);
  if (draws_bias(options.scheme))
    draw(layer.bias(), rng, options, fans);
  else
    layer.bias().setZero();
}

template void init_normal<float>(Matrix<float>&, RandomState&, double, double);
template void init_normal<double>(Matrix<double>&, RandomState&, double, double);
template void init_uniform<float>(Matrix<float>&, RandomState&, double, double);
template void init_uniform<double>(Matrix<double>&, RandomState&, double, double);
template void initialize<float>(Dense<float>&, RandomState&, const InitOptions&);
template void initialize<double>(Dense<double>&, RandomState&, const InitOptions&);
template void initialize<float>(Conv2d<float>&, RandomState&, const InitOptions&);
template void initialize<double>(Conv2d<double>&, RandomState&, const InitOptions&);

}  // namespace eigennet

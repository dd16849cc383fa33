#include "eigennet/init.hpp"

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

template <typename Scalar>
void initialize(Dense<Scalar>& layer, RandomState& rng, const InitOptions& options) {
  Matrix<Scalar>& w = layer.weights();
  const double fan_in = double(layer.input_size()), fan_out = double(layer.output_size());
  switch (options.scheme) {
    case InitScheme::Normal: init_normal(w, rng, options.a, options.b); break;
    case InitScheme::Uniform: init_uniform(w, rng, options.a, options.b); break;
    case InitScheme::TorchDefault: {
      const double bound = 1.0 / std::sqrt(fan_in);
      init_uniform(w, rng, -bound, bound);
      break;
    }
    case InitScheme::Glorot: {
      const double bound = std::sqrt(6.0 / (fan_in + fan_out));
      init_uniform(w, rng, -bound, bound);
      if (layer.has_bias()) w.row(layer.input_size()).setZero();
      break;
    }
    case InitScheme::He:
      init_normal(w, rng, 0.0, std::sqrt(2.0 / fan_in));
      if (layer.has_bias()) w.row(layer.input_size()).setZero();
      break;
  }
}

template void init_normal<float>(Matrix<float>&, RandomState&, double, double);
template void init_normal<double>(Matrix<double>&, RandomState&, double, double);
template void init_uniform<float>(Matrix<float>&, RandomState&, double, double);
template void init_uniform<double>(Matrix<double>&, RandomState&, double, double);
template void initialize<float>(Dense<float>&, RandomState&, const InitOptions&);
template void initialize<double>(Dense<double>&, RandomState&, const InitOptions&);

}  // namespace eigennet

#include "eigennet/layers/image_shape.hpp"

#include <stdexcept>

namespace eigennet {

Index conv_output_size(Index input, Index kernel, Index stride, Index padding, const std::string& what) {
  if (kernel < 1 || stride < 1 || padding < 0)
    throw std::invalid_argument(what + ": kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                                ", padding " + std::to_string(padding) +
                                " (need kernel ≥ 1, stride ≥ 1, padding ≥ 0)");
  if (input + 2 * padding < kernel)
    throw std::invalid_argument(what + ": kernel " + std::to_string(kernel) + " is larger than the input " +
                                std::to_string(input) + " plus padding 2×" + std::to_string(padding));
  return (input + 2 * padding - kernel) / stride + 1;
}

Index pool_output_size(Index input, Index kernel, Index stride, Index padding, bool ceil_mode,
                       const std::string& what) {
  if (kernel < 1 || stride < 1 || padding < 0 || padding > kernel / 2)
    throw std::invalid_argument(what + ": kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                                ", padding " + std::to_string(padding) +
                                " (need kernel ≥ 1, stride ≥ 1, 0 ≤ padding ≤ kernel/2)");
  // PyTorch: out = ⌊(input + 2p − k [+ s − 1 with ceil_mode]) / s⌋ + 1, rounding toward −∞.
  const Index numerator = input + 2 * padding - kernel + (ceil_mode ? stride - 1 : 0);
  Index out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
  // ceil_mode: the last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * stride >= input + padding) --out;
  if (out < 1)
    throw std::invalid_argument(what + ": kernel " + std::to_string(kernel) + " leaves no output on an input of " +
                                std::to_string(input) + " with padding " + std::to_string(padding));
  return out;
}

}  // namespace eigennet

// --layers of the bench programs ("784,1000,10"), parsed one way for all of them (eigennet-bench,
// gemm-bound, cuda-gemm-bound); plain C++ only, so that any of them can include it.
#pragma once

#include <exception>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

// Positive integers separated by commas, at least two (input and output). Throws
// std::invalid_argument naming the bad item, or the whole text when it has fewer than two.
inline std::vector<long> parse_layer_sizes(const std::string& text) {
  std::vector<long> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value <= 0)
      throw std::invalid_argument("--layers: '" + item + "' in '" + text + "' is not a positive integer");
    sizes.push_back(static_cast<long>(value));
  }
  if (sizes.size() < 2)
    throw std::invalid_argument("--layers needs at least an input and an output size, e.g. 784,1000,10; got '" +
                                text + "'");
  return sizes;
}

}  // namespace bench

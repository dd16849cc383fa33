#include "limits.hpp"

#include <limits>

#include "eigennet/types.hpp"

namespace eigennet::detail {

std::optional<std::size_t> checked_byte_size(const std::vector<std::uint64_t>& dims, std::size_t item_size) {
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<Index>::max());
  std::uint64_t product = item_size;
  bool empty = false;
  for (std::uint64_t d : dims) {
    if (d == 0) {
      empty = true;
      continue;
    }
    if (product > kMax / d) return std::nullopt;
    product *= d;
  }
  return empty ? 0 : static_cast<std::size_t>(product);
}

void require_available(std::uint64_t declared, std::uint64_t available, const std::string& what) {
  if (declared > available)
    throw DataError(what + ", expected " + std::to_string(declared) + " bytes of data, found " +
                    std::to_string(available) + " bytes");
}

}  // namespace eigennet::detail

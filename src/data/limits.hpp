// Size arithmetic for the readers (internal to the data layer): every size a file declares
// goes through these before anything is allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eigennet/data/error.hpp"

namespace eigennet::detail {

// The number of bytes of an array of `dims` elements of `item_size` bytes each, or nothing when
// it does not fit in an Index (nor, then, in memory). As numpy does, the product of the
// non-zero dimensions must fit even when a zero dimension makes the array empty, so that
// every partial product of the dimensions (rows × cols of an image, ...) fits as well.
std::optional<std::size_t> checked_byte_size(const std::vector<std::uint64_t>& dims, std::size_t item_size);

// Checks a size the file declares against the bytes it actually has. Throws DataError
// "<what>, expected <declared> bytes of data, found <available> bytes" when they are fewer;
// `what` starts with the path and says which part is short, e.g.
// "mnist.idx: truncated data: header says shape 3×2×2 (unsigned byte)".
void require_available(std::uint64_t declared, std::uint64_t available, const std::string& what);

}  // namespace eigennet::detail

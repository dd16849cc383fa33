// libFuzzer harness: the .npy parser (header dict, dtype, shape, data size, byte order and
// Fortran order) on the input's bytes, and the array read into a matrix. Every outcome but a
// DataError is a bug.
#include <cstdint>
#include <string>

#include "data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const eigennet::NpyArray array = eigennet::detail::parse_npy(
        "fuzz.npz", "x", std::string(reinterpret_cast<const char*>(data), size));
    if (array.shape.size() <= 2) array.to_matrix<float>();
  } catch (const eigennet::DataError&) {
  }
  return 0;
}

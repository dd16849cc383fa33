// libFuzzer harness: the .npz reader (ZIP archive, then each .npy entry) on the input's bytes,
// and each array read into a matrix. Every outcome but a DataError is a bug.
#include <cstdint>
#include <string>

#include "data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const eigennet::NpzFile npz =
        eigennet::detail::parse_npz(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npz");
    for (const eigennet::NpyArray& array : npz.arrays)
      if (array.shape.size() <= 2) array.to_matrix<double>();
  } catch (const eigennet::DataError&) {
  }
  return 0;
}

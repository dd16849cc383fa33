// libFuzzer harness: read_idx on the input as a file, raw or gzip (zlib tells them apart by the first bytes). Every outcome but a DataError is a bug.
#include <cstdint>

#include "eigennet/data/idx.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    eigennet::read_idx(eigennet_fuzz::write_fuzz_file(data, size, false));
  } catch (const eigennet::DataError&) {
  }
  return 0;
}

// The NPY side of .npz reading, on bytes in memory (internal to the data layer; the fuzz
// harnesses call these directly).
#pragma once

#include <string>

#include "eigennet/data/npz.hpp"

namespace eigennet::detail {

// One .npy file's bytes → the array `key` of the archive `file` (both named in errors).
// Accepts NPY 1.0–3.0 with a header of at most 10,000 bytes (numpy's limit), dtype '<f4',
// '<f8', '>f4' or '>f8', C or Fortran order; the data is returned little-endian, C order.
NpyArray parse_npy(const std::string& file, const std::string& key, const std::string& bytes);

// A whole .npz archive's bytes (the file `path`) → its arrays, as load_npz.
NpzFile parse_npz(const std::string& bytes, const std::string& path);

}  // namespace eigennet::detail

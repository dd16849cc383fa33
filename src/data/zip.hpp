// Minimal ZIP archive support for .npz files (internal to the data layer).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eigennet/data/atomic_file.hpp"

namespace eigennet::detail {

struct ZipEntry {
  std::string name;
  std::string data;  // uncompressed contents
};

// Writes a ZIP archive of stored (uncompressed) entries with CRC-32s, in the given order.
// Throws DataError naming `path` if the archive would need ZIP64 (≥ 4 GiB or ≥ 65535 entries).
void write_zip(FileSink& sink, const std::vector<std::pair<std::string, std::string>>& entries,
               const std::string& path);

// The whole file at `path`; throws DataError naming it when it cannot be read.
std::string read_whole_file(const std::string& path);

// Every entry of the ZIP archive `bytes` (the file `path`, named in errors): stored or
// deflated, ZIP64 records understood, CRC-32 checked. Declared sizes are checked against the
// archive's bytes before anything is allocated for them. Throws DataError naming the file
// (and the entry).
std::vector<ZipEntry> parse_zip(const std::string& bytes, const std::string& path);

}  // namespace eigennet::detail

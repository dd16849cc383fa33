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

// Reads every entry of the ZIP archive at `path`: stored or deflated, ZIP64 records
// understood, CRC-32 checked. Throws DataError naming the file (and the entry).
std::vector<ZipEntry> read_zip(const std::string& path);

}  // namespace eigennet::detail

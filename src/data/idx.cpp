// IDX reader: gzip or raw files through zlib's gz* interface.
#include "eigennet/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "limits.hpp"

namespace eigennet {
namespace {

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
  return text;
}

std::string dims_string(const std::vector<Index>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? "×" : "") + std::to_string(dims[i]);
  return text;
}

// What a magic number stands for, e.g. "a 3-D unsigned byte array"; used to explain a wrong magic
// (a label file passed as images, or a file that is not IDX at all).
std::string describe_magic(std::uint32_t magic) {
  const std::uint8_t type = static_cast<std::uint8_t>((magic >> 8) & 0xFF);
  if ((magic >> 16) != 0 || idx_type_size(type) == 0 || (magic & 0xFF) == 0)
    return "no IDX header";
  return "a " + std::to_string(magic & 0xFF) + "-D " + idx_type_name(type) + " array";
}

// Owns a gzFile; gzclose on scope exit.
struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

GzHandle open_for_reading(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw DataError(path + ": file not found");
  if (std::filesystem::is_directory(status))
    throw DataError(path + ": is a directory, expected an IDX file");
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    throw DataError(path + ": cannot open: " + (err ? std::strerror(err) : "out of memory"));
  }
  // Larger than zlib's default 8 KiB buffer: the MNIST training images are 47 MB.
  gzbuffer(file, 1 << 17);
  return GzHandle(file);
}

// Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
// A corrupt gzip stream throws; a gzip stream cut short reads as a short count, reported by
// the caller as truncation.
std::size_t read_bytes(gzFile file, const std::string& path, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const std::size_t chunk = std::min<std::size_t>(size - done, 1u << 30);  // gzread takes unsigned
    const int got = gzread(file, out + done, static_cast<unsigned>(chunk));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw DataError(path + ": corrupt gzip data after " + std::to_string(done) +
                      " bytes: " + message);
    }
    done += static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) < chunk) {
      // End of data. Z_BUF_ERROR means a gzip stream cut short: the caller reports it as
      // truncation with byte counts. Any other error is corruption.
      int code = Z_OK;
      const char* message = gzerror(file, &code);
      if (code != Z_OK && code != Z_BUF_ERROR)
        throw DataError(path + ": corrupt gzip data after " + std::to_string(done) +
                        " bytes: " + message);
      break;
    }
  }
  return done;
}

// Counts the bytes that remain in the file (for the "trailing bytes" error).
std::size_t count_remaining(gzFile file, const std::string& path) {
  std::uint8_t buffer[1 << 14];
  std::size_t total = 0;
  for (;;) {
    const std::size_t got = read_bytes(file, path, buffer, sizeof buffer);
    total += got;
    if (got < sizeof buffer) return total;
  }
}

std::uint32_t big_endian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

IdxArray read_idx_impl(const std::string& path, const std::uint32_t* expected_magic,
                       const std::string& description) {
  GzHandle handle = open_for_reading(path);
  gzFile file = handle.get();

  std::uint8_t head[4];
  const std::size_t got_head = read_bytes(file, path, head, 4);
  if (got_head < 4)
    throw DataError(path + ": file too short for an IDX header: expected 4 bytes of magic number, found " +
                    std::to_string(got_head) + " bytes");
  const std::uint32_t magic = big_endian32(head);
  if (expected_magic != nullptr && magic != *expected_magic)
    throw DataError(path + ": wrong magic number " + hex32(magic) + ", expected " + hex32(*expected_magic) +
                    " (" + description + "); the file holds " + describe_magic(magic));
  const std::uint8_t type = head[2];
  const unsigned ndims = head[3];
  if (head[0] != 0 || head[1] != 0 || idx_type_size(type) == 0 || ndims == 0)
    throw DataError(path + ": bad magic number " + hex32(magic) +
                    ", expected 0x0000TTDD with a known type TT (08, 09, 0B, 0C, 0D, 0E) and DD ≥ 1 "
                    "dimensions; is this an IDX file?");

  std::vector<std::uint8_t> dim_bytes(4 * ndims);
  const std::size_t got_dims = read_bytes(file, path, dim_bytes.data(), dim_bytes.size());
  if (got_dims < dim_bytes.size())
    throw DataError(path + ": truncated header: expected " + std::to_string(ndims) +
                    " dimension sizes (" + std::to_string(dim_bytes.size()) + " bytes), found " +
                    std::to_string(got_dims) + " bytes");

  IdxArray array;
  array.path = path;
  array.type = static_cast<IdxType>(type);
  std::vector<std::uint64_t> dims;
  for (unsigned d = 0; d < ndims; ++d) {
    dims.push_back(big_endian32(&dim_bytes[4 * d]));
    array.dims.push_back(static_cast<Index>(dims.back()));
  }
  const std::optional<std::size_t> size = detail::checked_byte_size(dims, idx_type_size(type));
  if (!size) throw DataError(path + ": dimensions " + dims_string(array.dims) + " are too large");
  const std::size_t expected = *size;
  const std::string what = "shape " + dims_string(array.dims) + " (" + idx_type_name(type) + ")";
  const std::string truncated = path + ": truncated data: header says " + what;
  // A gzip file's size says little about its data: the buffer grows as data arrives, from
  // 64 KiB, doubling. A raw file's size is known: the declared dimensions are checked against
  // it, then the buffer is allocated at once.
  std::size_t first_allocation = 1 << 16;
  if (gzdirect(file)) {
    const std::size_t header = 4 + dim_bytes.size();
    std::error_code ec;
    const std::uintmax_t file_size = std::filesystem::file_size(path, ec);
    if (!ec) {
      detail::require_available(expected, file_size > header ? file_size - header : 0, truncated);
      first_allocation = expected;
    }
  }
  std::size_t found = 0;
  while (found < expected) {
    array.bytes.resize(std::min(expected, std::max(2 * array.bytes.size(), first_allocation)));
    const std::size_t got = read_bytes(file, path, array.bytes.data() + found, array.bytes.size() - found);
    found += got;
    if (found < array.bytes.size()) break;
  }
  detail::require_available(expected, found, truncated);
  const std::size_t extra = count_remaining(file, path);
  if (extra != 0)
    throw DataError(path + ": " + std::to_string(extra) + " unexpected bytes after the data: header says " +
                    what + ", expected " + std::to_string(expected) + " bytes of data, found " +
                    std::to_string(expected + extra) + " bytes");
  return array;
}

}  // namespace

std::string idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: {
      char text[32];
      std::snprintf(text, sizeof text, "unknown type 0x%02X", static_cast<unsigned>(code));
      return text;
    }
  }
}

std::size_t idx_type_size(std::uint8_t code) {
  switch (code) {
    case 0x08:
    case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C:
    case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

IdxArray read_idx(const std::string& path) { return read_idx_impl(path, nullptr, ""); }

IdxArray read_idx_expecting(const std::string& path, std::uint32_t expected_magic,
                            const std::string& description) {
  return read_idx_impl(path, &expected_magic, description);
}

IdxImages read_idx_images(const std::string& path) {
  IdxArray array = read_idx_expecting(path, kIdxImagesMagic, "IDX images, unsigned byte");
  IdxImages images;
  images.rows = array.dims[1];
  images.cols = array.dims[2];
  images.pixels.resize(array.dims[0], images.rows * images.cols);
  if (!array.bytes.empty())
    std::memcpy(images.pixels.data(), array.bytes.data(), array.bytes.size());
  return images;
}

Labels read_idx_labels(const std::string& path) {
  const IdxArray array = read_idx_expecting(path, kIdxLabelsMagic, "IDX labels, unsigned byte");
  Labels labels(array.dims[0]);
  for (Index i = 0; i < labels.size(); ++i) labels(i) = array.bytes[static_cast<std::size_t>(i)];
  return labels;
}

void write_idx_ubyte(const std::string& path, const std::vector<Index>& dims,
                     const std::vector<std::uint8_t>& bytes, bool gzip) {
  bool fits_uint32 = true;  // IDX stores each dimension as a uint32
  for (Index d : dims) fits_uint32 = fits_uint32 && d >= 0 && d <= 0xFFFFFFFF;
  const std::optional<std::size_t> count =
      fits_uint32 ? detail::checked_byte_size(std::vector<std::uint64_t>(dims.begin(), dims.end()), 1) : std::nullopt;
  if (dims.empty() || dims.size() > 255 || count != bytes.size())
    throw std::invalid_argument("write_idx_ubyte: " + path + ": dimensions " + dims_string(dims) +
                                " do not match " + std::to_string(bytes.size()) + " bytes");
  std::vector<std::uint8_t> out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (Index d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>((static_cast<std::uint64_t>(d) >> shift) & 0xFF));
  out.insert(out.end(), bytes.begin(), bytes.end());

  gzFile file = gzopen(path.c_str(), gzip ? "wb" : "wbT");  // "T": transparent, no compression
  if (file == nullptr) throw DataError(path + ": cannot open for writing: " + std::strerror(errno));
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < out.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(out.size() - done, 1u << 30));
    ok = gzwrite(file, out.data() + done, chunk) == static_cast<int>(chunk);
    done += chunk;
  }
  if (gzclose(file) != Z_OK || !ok) throw DataError(path + ": write failed");
}

}  // namespace eigennet

// Reader for the IDX format of MNIST (http://yann.lecun.com/exdb/mnist/), gzip or raw.
//
// An IDX file is a 4-byte magic number 0x0000TTDD (TT = element type, DD = number of
// dimensions), DD big-endian uint32 dimension sizes, then the elements in C order. MNIST uses
// 0x00000803 (images: count × rows × cols unsigned bytes) and 0x00000801 (labels: count
// unsigned bytes). Files may be gzip-compressed: zlib's gzread reads both kinds the same way.
//
// Every error is an eigennet::DataError whose message starts with the path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eigennet/data/error.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

// Pixels of N images, one image per row (row-major rows*cols bytes), as in the file.
using PixelMatrix = ByteMatrix;

// IDX element type codes (the TT byte of the magic number).
enum class IdxType : std::uint8_t {
  UnsignedByte = 0x08,
  SignedByte = 0x09,
  Short = 0x0B,
  Int = 0x0C,
  Float = 0x0D,
  Double = 0x0E,
};

// "unsigned byte", "float", ... ; "unknown type 0x42" for an invalid code.
std::string idx_type_name(std::uint8_t code);
// Size in bytes of one element; 0 for an invalid code.
std::size_t idx_type_size(std::uint8_t code);

// A whole IDX file: its element type, dimensions and payload.
struct IdxArray {
  std::string path;
  IdxType type = IdxType::UnsignedByte;
  std::vector<Index> dims;          // e.g. {60000, 28, 28}
  std::vector<std::uint8_t> bytes;  // payload as stored: C order, big-endian elements
};

// Reads any valid IDX file (gzip or raw). Checks: the file can be opened; the magic number
// has two zero bytes, a known type and 1..255 dimensions; the header is complete; the
// payload has exactly prod(dims) * element size bytes (truncation and trailing bytes are
// errors naming expected and found byte counts); the gzip stream is not corrupt.
IdxArray read_idx(const std::string& path);

// Reads an IDX file that must have the magic number `expected_magic` (e.g. 0x00000803);
// `description` names the expected content in the error, e.g. "IDX images, unsigned byte":
//   "<path>: wrong magic number 0x00000801, expected 0x00000803 (IDX images, unsigned byte)".
IdxArray read_idx_expecting(const std::string& path, std::uint32_t expected_magic,
                            const std::string& description);

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // unsigned byte, 3-D
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned byte, 1-D

// Images of an IDX3 unsigned-byte file.
struct IdxImages {
  PixelMatrix pixels;  // count × (rows*cols)
  Index rows = 0;
  Index cols = 0;
};

// Reads an MNIST-style image file (magic 0x00000803): N × rows × cols unsigned bytes.
IdxImages read_idx_images(const std::string& path);

// Reads an MNIST-style label file (magic 0x00000801): N unsigned bytes, as int32 labels.
// Range is not checked here (see load_image_set).
Labels read_idx_labels(const std::string& path);

// Writes an unsigned-byte IDX file with the given dimensions (raw, or gzip when `gzip`).
// For tests and small tools; bytes.size() must equal prod(dims).
void write_idx_ubyte(const std::string& path, const std::vector<Index>& dims,
                     const std::vector<std::uint8_t>& bytes, bool gzip);

}  // namespace eigennet

// .npz = ZIP of .npy files. This file does the NPY part: headers and element data.
#include "eigennet/data/npz.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "eigennet/data/atomic_file.hpp"
#include "limits.hpp"
#include "npy.hpp"
#include "zip.hpp"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npz.cpp copies little-endian float data as native floats: little-endian hosts only"
#endif

namespace eigennet {
namespace {

const char kNpyMagic[] = "\x93NUMPY";  // 6 bytes

std::size_t item_size(NpyDtype dtype) { return dtype == NpyDtype::Float32 ? 4 : 8; }

std::string shape_tuple(const std::vector<Index>& shape) {
  if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

// NPY format 1.0: magic, version, little-endian uint16 header length, then the header dict
// padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes
// (numpy ≥ 1.24 aligns to 64; readers accept any padding).
std::string npy_header(NpyDtype dtype, const std::vector<Index>& shape) {
  std::string dict = std::string("{'descr': '") + npy_descr(dtype) +
                     "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out(kNpyMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  return out + dict;
}

// Parses the header dict, e.g. "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }".
// It is a Python literal; numpy writes exactly these three keys, which is all we accept.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, std::string where) : text_(text), where_(std::move(where)) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<Index>& shape) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        descr = quoted();
        seen_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        shape = tuple();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the NPY header");
      }
      if (!peek('}')) expect(',');
    }
    if (!seen_descr || !seen_order || !seen_shape)
      fail("NPY header lacks 'descr', 'fortran_order' or 'shape': " + text_);
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("malformed NPY header (expected '") + c + "' at offset " +
                       std::to_string(pos_) + "): " + text_);
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail("malformed NPY header (expected a quoted string at offset " + std::to_string(pos_) + "): " + text_);
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) fail("malformed NPY header (unterminated string): " + text_);
    std::string value = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (text_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    fail("malformed NPY header (expected True or False for 'fortran_order'): " + text_);
  }
  std::vector<Index> tuple() {
    std::vector<Index> values;
    expect('(');
    while (!peek(')')) {
      skip_space();
      const std::size_t start = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == start || pos_ - start > 18)
        fail("malformed NPY header (bad dimension in 'shape'): " + text_);
      values.push_back(static_cast<Index>(std::stoll(text_.substr(start, pos_ - start))));
      if (!peek(')')) expect(',');
    }
    expect(')');
    return values;
  }
  [[noreturn]] void fail(const std::string& message) const { throw DataError(where_ + ": " + message); }

  const std::string& text_;
  std::string where_;
  std::size_t pos_ = 0;
};

// numpy refuses headers longer than this (numpy.lib.format's max_header_size): parsing an
// untrusted header is not free, and no array needs more.
constexpr std::size_t kMaxNpyHeader = 10000;

// Element i of `from` (C order) ← element i of the array whose data is in Fortran order
// (first index fastest), for an array of `shape` with `item` bytes per element.
std::vector<unsigned char> fortran_to_c(const std::vector<unsigned char>& from, const std::vector<Index>& shape,
                                        std::size_t item) {
  std::vector<unsigned char> to(from.size());
  if (from.empty()) return to;
  // Fortran strides in elements: 1, d0, d0*d1, ...; walk the C-order indices like an odometer.
  std::vector<std::size_t> stride(shape.size());
  std::size_t s = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) stride[k] = s, s *= static_cast<std::size_t>(shape[k]);
  std::vector<Index> index(shape.size(), 0);
  std::size_t source = 0;
  for (std::size_t i = 0; i < to.size() / item; ++i) {
    std::memcpy(&to[i * item], &from[source * item], item);
    for (std::size_t k = shape.size(); k-- > 0;) {
      if (++index[k] < shape[k]) {
        source += stride[k];
        break;
      }
      source -= stride[k] * static_cast<std::size_t>(shape[k] - 1);
      index[k] = 0;
    }
  }
  return to;
}

}  // namespace

namespace detail {

NpyArray parse_npy(const std::string& file, const std::string& key, const std::string& bytes) {
  NpyArray array;
  array.file = file;
  array.key = key;
  const std::string where = file + ": array '" + key + "'";
  if (bytes.size() < 10 || bytes.compare(0, 6, kNpyMagic, 6) != 0)
    throw DataError(where + ": not an NPY file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, header_start = 0;
  auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(where + ": truncated NPY header");
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
    header_start = 12;
  } else {
    throw DataError(where + ": NPY format version " + std::to_string(major) + "." +
                    std::to_string(byte(7)) + ", expected 1.0, 2.0 or 3.0");
  }
  if (header_len > kMaxNpyHeader)
    throw DataError(where + ": NPY header of " + std::to_string(header_len) + " bytes, more than numpy's limit of " +
                    std::to_string(kMaxNpyHeader));
  if (bytes.size() - header_start < header_len) throw DataError(where + ": truncated NPY header");
  const std::string header = bytes.substr(header_start, header_len);

  std::string descr;
  bool fortran_order = false;
  HeaderParser(header, where).parse(descr, fortran_order, array.shape);
  // Little- and big-endian floats; big-endian data is byte-swapped below, as numpy reads it.
  if (descr == "<f4" || descr == ">f4") {
    array.dtype = NpyDtype::Float32;
  } else if (descr == "<f8" || descr == ">f8") {
    array.dtype = NpyDtype::Float64;
  } else {
    throw DataError(where + ": dtype '" + descr + "', expected float32 or float64 ('<f4', '<f8', '>f4', '>f8')");
  }
  const std::size_t item = item_size(array.dtype);

  const std::vector<std::uint64_t> dims(array.shape.begin(), array.shape.end());
  const std::optional<std::size_t> expected = detail::checked_byte_size(dims, item);
  if (!expected) throw DataError(where + ": shape " + array.shape_text() + " is too large");
  const std::size_t data_start = header_start + header_len;
  const std::size_t found = bytes.size() - data_start;
  if (found != *expected)
    throw DataError(where + ": shape " + array.shape_text() + " of " + descr + " needs " +
                    std::to_string(*expected) + " bytes of data, found " + std::to_string(found));
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_start), bytes.end());
  if (descr[0] == '>')
    for (std::size_t i = 0; i < array.data.size(); i += item)
      std::reverse(array.data.begin() + static_cast<std::ptrdiff_t>(i),
                   array.data.begin() + static_cast<std::ptrdiff_t>(i + item));
  if (fortran_order) array.data = fortran_to_c(array.data, array.shape, item);
  return array;
}

NpzFile parse_npz(const std::string& bytes, const std::string& path) {
  NpzFile npz;
  npz.path = path;
  for (const detail::ZipEntry& entry : detail::parse_zip(bytes, path)) {
    const std::string suffix = ".npy";
    if (entry.name.size() <= suffix.size() ||
        entry.name.compare(entry.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      throw DataError(path + ": entry '" + entry.name + "' is not an .npy array (expected KEY.npy)");
    const std::string key = entry.name.substr(0, entry.name.size() - suffix.size());
    if (npz.contains(key)) throw DataError(path + ": array '" + key + "' appears twice");
    npz.arrays.push_back(parse_npy(path, key, entry.data));
  }
  return npz;
}

}  // namespace detail

const char* npy_descr(NpyDtype dtype) { return dtype == NpyDtype::Float32 ? "<f4" : "<f8"; }

Index NpyArray::size() const {
  const std::vector<std::uint64_t> dims(shape.begin(), shape.end());
  const std::optional<std::size_t> bytes = detail::checked_byte_size(dims, 1);
  if (!bytes) throw DataError(file + ": array '" + key + "': shape " + shape_text() + " is too large");
  return static_cast<Index>(*bytes);
}

std::string NpyArray::shape_text() const { return shape_tuple(shape); }

template <typename Scalar>
Matrix<Scalar> NpyArray::to_matrix() const {
  Index rows = 1, cols = 1;
  if (shape.size() == 2) {
    rows = shape[0];
    cols = shape[1];
  } else if (shape.size() == 1) {
    cols = shape[0];
  } else if (!shape.empty()) {
    throw DataError(file + ": array '" + key + "' has shape " + shape_text() +
                    ", expected 0, 1 or 2 dimensions for a matrix");
  }
  Matrix<Scalar> m(rows, cols);
  // Element i of the C-order data is element i of the row-major matrix.
  for (Index i = 0; i < m.size(); ++i) {
    if (dtype == NpyDtype::Float32) {
      float v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      m.data()[i] = static_cast<Scalar>(v);
    } else {
      double v;
      std::memcpy(&v, data.data() + 8 * i, 8);
      m.data()[i] = static_cast<Scalar>(v);
    }
  }
  return m;
}

template Matrix<float> NpyArray::to_matrix<float>() const;
template Matrix<double> NpyArray::to_matrix<double>() const;

std::vector<std::string> NpzFile::keys() const {
  std::vector<std::string> names;
  for (const NpyArray& a : arrays) names.push_back(a.key);
  return names;
}

bool NpzFile::contains(const std::string& key) const {
  for (const NpyArray& a : arrays)
    if (a.key == key) return true;
  return false;
}

const NpyArray& NpzFile::at(const std::string& key) const {
  for (const NpyArray& a : arrays)
    if (a.key == key) return a;
  std::string list;
  for (const NpyArray& a : arrays) list += (list.empty() ? "" : ", ") + a.key;
  throw DataError(path + ": no array '" + key + "' (arrays: " + (list.empty() ? "none" : list) + ")");
}

NpzFile load_npz(const std::string& path) { return detail::parse_npz(detail::read_whole_file(path), path); }

template <typename Scalar>
void NpzWriter::add_array(const std::string& key, const ConstMatrixRef<Scalar>& m, bool flat) {
  const std::string name = key + ".npy";
  if (key.empty()) throw std::invalid_argument("NpzWriter: empty key");
  for (const auto& entry : entries_)
    if (entry.first == name) throw std::invalid_argument("NpzWriter: key '" + key + "' added twice");
  const NpyDtype dtype = sizeof(Scalar) == 4 ? NpyDtype::Float32 : NpyDtype::Float64;
  const std::vector<Index> shape = flat ? std::vector<Index>{m.size()} : std::vector<Index>{m.rows(), m.cols()};
  std::string bytes = npy_header(dtype, shape);
  const std::size_t header = bytes.size();
  bytes.resize(header + static_cast<std::size_t>(m.size()) * sizeof(Scalar));
  // A Ref may have an outer stride (a block of a wider matrix): copy row by row.
  for (Index r = 0; r < m.rows(); ++r)
    std::memcpy(&bytes[header + static_cast<std::size_t>(r * m.cols()) * sizeof(Scalar)], m.row(r).data(),
                static_cast<std::size_t>(m.cols()) * sizeof(Scalar));
  entries_.emplace_back(name, std::move(bytes));
}

void NpzWriter::add(const std::string& key, const ConstMatrixRef<float>& m) { add_array<float>(key, m, false); }
void NpzWriter::add(const std::string& key, const ConstMatrixRef<double>& m) { add_array<double>(key, m, false); }
void NpzWriter::add_1d(const std::string& key, const ConstMatrixRef<float>& m) { add_array<float>(key, m, true); }
void NpzWriter::add_1d(const std::string& key, const ConstMatrixRef<double>& m) { add_array<double>(key, m, true); }

void NpzWriter::save(const std::string& path) const {
  write_file_atomic(path, [&](FileSink& sink) { detail::write_zip(sink, entries_, path); });
}

}  // namespace eigennet

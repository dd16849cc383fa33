// NumPy .npz archives of float32/float64 arrays: written so numpy.load reads them, and read
// back (ours, np.savez and np.savez_compressed files).
//
// An .npz is a ZIP archive with one NPY file per array, named KEY.npy. We write format 1.0
// NPY files ('<f4' or '<f8', fortran_order False, C order) as stored (uncompressed) ZIP
// entries, with a fixed 1980-01-01 timestamp so the same arrays give the same bytes. Reading
// accepts stored and deflated entries, NPY versions 1.0–3.0, float32 and float64 in either
// byte order ('<f4', '<f8', '>f4', '>f8') and C or Fortran order, as numpy.load does; the
// arrays read are little-endian and C order.
// Limits: no ZIP64 on writing (each array and the whole archive under 4 GiB, < 65535 arrays).
// On reading, an NPY header longer than 10,000 bytes is refused (as numpy does), a shape
// whose size does not fit in an Index is "too large", and declared sizes are checked against
// the archive's bytes before anything is allocated (a deflated entry may declare at most
// 1032 times its compressed size, deflate's limit).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "eigennet/data/error.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

enum class NpyDtype { Float32, Float64 };

// "<f4" / "<f8".
const char* npy_descr(NpyDtype dtype);

// One array read from an archive.
struct NpyArray {
  std::string file;  // the archive, for error messages
  std::string key;   // entry name without ".npy"
  NpyDtype dtype = NpyDtype::Float64;
  std::vector<Index> shape;         // () for a scalar, (n,), (rows, cols), ...
  std::vector<unsigned char> data;  // elements, little-endian, C order

  Index size() const;  // number of elements, prod(shape); DataError if it overflows
  // "(3, 4)" as numpy prints shapes.
  std::string shape_text() const;

  // Shape (rows, cols) → rows × cols; (n,) → 1 × n (a row, as biases are stored here);
  // () → 1 × 1. Other ranks throw DataError naming file, key and shape. float64 data read as
  // float is rounded to nearest (static_cast), float32 read as double is exact.
  template <typename Scalar>
  Matrix<Scalar> to_matrix() const;
};

// The arrays of one .npz file, in archive order.
struct NpzFile {
  std::string path;
  std::vector<NpyArray> arrays;

  std::vector<std::string> keys() const;
  bool contains(const std::string& key) const;
  // Throws DataError "<path>: no array 'key' (arrays: a, b, c)".
  const NpyArray& at(const std::string& key) const;
};

// Reads every array of an .npz file. Throws DataError naming the file (and the key) for: a
// missing or unreadable file, a file that is not a ZIP archive, an entry that is not KEY.npy,
// encrypted or with another compression than stored/deflate, a CRC mismatch, a size declared
// beyond what the archive holds, a bad or too long NPY header, a dtype other than float32 or
// float64 ("dtype '<i8'"), a shape too large, or a data size that does not match the shape.
NpzFile load_npz(const std::string& path);

// Collects arrays, then writes them in the order added.
class NpzWriter {
 public:
  // Shape (rows, cols), dtype of the matrix ('<f4' for float, '<f8' for double).
  void add(const std::string& key, const ConstMatrixRef<float>& m);
  void add(const std::string& key, const ConstMatrixRef<double>& m);
  // 1-D shape (rows*cols,): the elements in row-major order (for vectors and flat arrays).
  void add_1d(const std::string& key, const ConstMatrixRef<float>& m);
  void add_1d(const std::string& key, const ConstMatrixRef<double>& m);

  // Writes the archive atomically (see write_file_atomic): on failure `path` is untouched.
  void save(const std::string& path) const;

  std::size_t size() const { return entries_.size(); }

 private:
  template <typename Scalar>
  void add_array(const std::string& key, const ConstMatrixRef<Scalar>& m, bool flat);

  std::vector<std::pair<std::string, std::string>> entries_;  // file name, NPY bytes
};

}  // namespace eigennet

// Rows of a matrix picked by index, copied into another: the batch gather of every training loop
// and of the data layer's gather_rows. The rows come from a Scalar matrix, or from bytes read as
// Scalar on the way (ByteRows). Below both (it needs the library's threads, nothing of the
// training loops or the data formats).
#pragma once

#include "eigennet/types.hpp"

namespace eigennet {

// out.row(i) = x.row(indices[i]) for i < count; out holds at least count rows, and the indices
// are valid rows of x (the callers check them). A batch's rows are scattered over a large set
// (MNIST's is 188 MB as floats) and each starts with a cache miss, so the rows a few places ahead
// are prefetched while one is copied: 100 rows of 784 floats took 42 µs instead of 70. A batch
// of 32k entries or more is split over the library's threads (outside a parallel region).
template <typename Scalar>
void copy_rows(const ConstMatrixRef<Scalar>& x, const Index* indices, Index count, MatrixRef<Scalar> out);

// Bytes read as Scalar: an entry is (Scalar(byte) / 255 − mean) / std, those operations in that
// order in Scalar — to_unit_scale and then apply_normalization (data/preprocess.hpp), operation
// for operation — so rows read from here equal the rows of the converted set bit for bit. The
// set stays a quarter of its size as floats (MNIST's training set: 47 MB instead of 188), and a
// batch's gather reads a quarter of the memory: 100 random rows of 60000×784 into floats, one
// thread (Zen 3): 35–39 µs from floats, 16 µs from bytes with mean 0 and std 1 (x / 255 alone;
// the two identities are skipped), 22 µs normalised.
template <typename Scalar>
struct ByteRows {
  ByteRows() = default;
  // Throws std::invalid_argument unless std is positive and finite and mean finite.
  ByteRows(const ByteMatrix& bytes, Scalar mean = 0, Scalar std = 1);

  const ByteMatrix* bytes = nullptr;  // borrowed
  Scalar mean = 0;
  Scalar std = 1;

  Index rows() const { return bytes ? bytes->rows() : 0; }
  Index cols() const { return bytes ? bytes->cols() : 0; }
};

// out.row(i) = the Scalar values of x's row indices[i], for i < count (as copy_rows above).
template <typename Scalar>
void copy_rows(const ByteRows<Scalar>& x, const Index* indices, Index count, MatrixRef<Scalar> out);

// out.row(i) = the Scalar values of x's row begin + i, for i < count (rows in range, unchecked).
template <typename Scalar>
void copy_rows(const ByteRows<Scalar>& x, Index begin, Index count, MatrixRef<Scalar> out);

}  // namespace eigennet

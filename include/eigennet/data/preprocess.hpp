// Turning pixels and labels into training matrices: scaling, one-hot targets, normalisation.
//
// Each function documents the numpy expression it reproduces. Arithmetic is done in the
// matrix's Scalar, as numpy does for a float32 array combined with Python floats (numpy
// casts the Python float to float32 first); statistics are computed in double.
// Spell the scalar out when calling: normalize_batch<float>(batch.x()) — Ref parameters do
// not deduce it.
#pragma once

#include "eigennet/copy_rows.hpp"
#include "eigennet/data/idx.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

// N × P pixels → N × P matrix with values pixel / 255, in [0, 1].
// numpy: x.astype(np.float32) / 255 (for Scalar = float; bit-identical: one IEEE division).
template <typename Scalar>
Matrix<Scalar> to_unit_scale(const PixelMatrix& pixels);

// N labels → N × classes matrix with a 1 in column labels(i) of row i, zeros elsewhere.
// Throws std::invalid_argument naming the index and value of a label outside 0..classes-1.
template <typename Scalar>
Matrix<Scalar> one_hot(const Labels& labels, Index classes);

// Mean and standard deviation used to normalise: x ← (x − mean) / std.
struct Normalization {
  double mean = 0.0;
  double std = 1.0;
};

// The usual MNIST constants (mean and std of the training pixels / 255).
inline constexpr Normalization kMnistNormalization{0.1307, 0.3081};

// Mean and population standard deviation over all entries of x, in double:
// numpy x.mean(dtype=np.float64), x.std(dtype=np.float64) (ddof = 0; two passes).
template <typename Scalar>
Normalization compute_normalization(const ConstMatrixRef<Scalar>& x);

// x ← (x − mean) / std, in place, elementwise in Scalar with mean and std cast to Scalar:
// numpy (x - mean) / std for a float32 x. Throws std::invalid_argument if std is not > 0.
template <typename Scalar>
void apply_normalization(MatrixRef<Scalar> x, const Normalization& n);

// The same statistics as compute_normalization<Scalar>(to_unit_scale<Scalar>(pixels)), bit for
// bit (the same values summed in the same order), without making that matrix.
template <typename Scalar>
Normalization unit_scale_normalization(const PixelMatrix& pixels);

// The pixels read as to_unit_scale<Scalar>(pixels) followed by apply_normalization(n) would make
// them, bit for bit, converted as each batch is gathered (ByteRows, copy_rows.hpp) instead of
// once into a matrix four times their size (eight in double). n = {0, 1}: pixel / 255 alone.
// Borrows pixels. Throws std::invalid_argument as apply_normalization does.
template <typename Scalar>
ByteRows<Scalar> unit_scale_rows(const PixelMatrix& pixels, const Normalization& n = {0.0, 1.0});

// Whole-set normalisation: each set normalised with its own statistics (call it once for the
// training set and once for the test set). Returns the statistics used.
template <typename Scalar>
Normalization normalize_whole_set(MatrixRef<Scalar> x);

// Fixed constants, by default MNIST's (0.1307, 0.3081).
template <typename Scalar>
void normalize_fixed(MatrixRef<Scalar> x, const Normalization& n = kMnistNormalization);

// Per-batch normalisation: subtract the batch mean and divide by the batch std (population,
// over all entries of the batch), in place. Returns the statistics used. A batch whose
// entries are all equal has std 0 and throws std::invalid_argument rather than make NaNs.
template <typename Scalar>
Normalization normalize_batch(MatrixRef<Scalar> batch);

}  // namespace eigennet

// Common types of eigennet.
//
// Layout convention (the notebook's): rows are samples. A batch X is N×D, stored
// row-major, so a mini-batch is a contiguous block of rows and a sample's features
// (for images: channel-major C×H×W) are contiguous.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace eigennet {

using Index = Eigen::Index;

template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <typename Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

// Bytes, one sample per row (e.g. image pixels as in their file): ByteRows (copy_rows.hpp) reads
// them as Scalar.
using ByteMatrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Non-owning views used at every layer boundary: they bind whole matrices and blocks of
// rows without copying.
template <typename Scalar>
using MatrixRef = Eigen::Ref<Matrix<Scalar>>;
template <typename Scalar>
using ConstMatrixRef = Eigen::Ref<const Matrix<Scalar>>;

// Integer class labels, one per sample.
using Labels = Eigen::Matrix<std::int32_t, Eigen::Dynamic, 1>;
using ConstLabelsRef = Eigen::Ref<const Labels>;

// "3×4" — used in every shape error message.
inline std::string shape_string(Index rows, Index cols) {
  return std::to_string(rows) + "×" + std::to_string(cols);
}
template <typename Derived>
std::string shape_of(const Eigen::EigenBase<Derived>& m) {
  return shape_string(m.rows(), m.cols());
}

// The text of an error message given as a string or as a callable that builds it. Hot paths
// pass a lambda, so the message (and its allocation) only comes into being on failure.
inline std::string message_text(const std::string& text) { return text; }
inline std::string message_text(const char* text) { return text; }
template <typename MakeText>
auto message_text(const MakeText& make_text) -> decltype(std::string(make_text())) {
  return make_text();
}

// Throws std::invalid_argument "<what>: expected shape R×C, got r×c" unless the shape matches.
template <typename Derived, typename What>
void require_shape(const Eigen::EigenBase<Derived>& m, Index rows, Index cols, const What& what) {
  if (m.rows() != rows || m.cols() != cols)
    throw std::invalid_argument(message_text(what) + ": expected shape " + shape_string(rows, cols) + ", got " +
                                shape_of(m));
}

// Throws std::invalid_argument "<what> is r×c, expected N×D" unless m has D columns (one row
// per sample, any number of rows): the check of a batch's or a dataset's width. m: a matrix, or
// anything else with rows() and cols() (ByteRows).
template <typename Rows, typename What>
void require_cols(const Rows& m, Index cols, const What& what) {
  if (m.cols() != cols)
    throw std::invalid_argument(message_text(what) + " is " + shape_string(m.rows(), m.cols()) + ", expected N×" +
                                std::to_string(cols));
}

// Throws std::invalid_argument "<what>: L labels for R rows (one per row)" unless there is one
// label per row.
template <typename What>
void require_labels(Index labels, Index rows, const What& what) {
  if (labels != rows)
    throw std::invalid_argument(message_text(what) + ": " + std::to_string(labels) + " labels for " +
                                std::to_string(rows) + " rows (one per row)");
}

}  // namespace eigennet

// Batch rules and gathering samples into preallocated buffers.
#include "eigennet/data/batching.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "eigennet/copy_rows.hpp"

namespace eigennet {
namespace {

void check_index(Index index, Index n, std::size_t position) {
  if (index < 0 || index >= n)
    throw std::out_of_range("gather: index " + std::to_string(index) + " at position " +
                            std::to_string(position) + " is outside 0.." + std::to_string(n - 1));
}

}  // namespace

BatchSampler::BatchSampler(Index n, Index batch_size, BatchRule rule, RandomState& rng)
    : n_(n), batch_size_(batch_size), rule_(rule), rng_(&rng) {
  if (n < 1 || batch_size < 1)
    throw std::invalid_argument("BatchSampler: need n ≥ 1 and batch size ≥ 1, got n = " +
                                std::to_string(n) + ", batch size " + std::to_string(batch_size));
  if (rule == BatchRule::FirstB && batch_size > n)
    throw std::invalid_argument("BatchSampler: first-B rule needs batch size " + std::to_string(batch_size) +
                                " ≤ number of samples " + std::to_string(n));
  if (rule == BatchRule::WithReplacement && n > std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument("BatchSampler: " + std::to_string(n) + " samples exceed int32 indices");
  indices_.reserve(static_cast<std::size_t>(batch_size));
  if (rule == BatchRule::WithReplacement) draws_.resize(batch_size);
  if (rule == BatchRule::FirstB)
    for (Index i = 0; i < batch_size; ++i) indices_.push_back(i);
  // ShuffledEpochs starts "at the end of epoch 0" so that the first next() draws a permutation,
  // into storage held from here on (no allocation in any next()).
  if (rule == BatchRule::ShuffledEpochs) permutation_.reserve(static_cast<std::size_t>(n));
  position_ = n_;
}

const std::vector<Index>& BatchSampler::next() {
  switch (rule_) {
    case BatchRule::WithReplacement:
      rng_->randint(0, static_cast<std::int32_t>(n_), draws_);
      indices_.assign(draws_.data(), draws_.data() + draws_.size());
      ++epoch_;
      break;
    case BatchRule::FirstB:
      ++epoch_;
      break;
    case BatchRule::ShuffledEpochs: {
      if (position_ == n_) {
        rng_->permutation(n_, permutation_);  // into the same storage: no allocation
        position_ = 0;
        ++epoch_;
      }
      const Index end = std::min(position_ + batch_size_, n_);
      indices_.assign(permutation_.begin() + position_, permutation_.begin() + end);
      position_ = end;
      break;
    }
  }
  return indices_;
}

Index BatchSampler::batches_per_epoch() const {
  return rule_ == BatchRule::ShuffledEpochs ? (n_ + batch_size_ - 1) / batch_size_ : 1;
}

template <typename Scalar>
void gather_rows(const ConstMatrixRef<Scalar>& x, const std::vector<Index>& indices, MatrixRef<Scalar> out) {
  require_shape(out, static_cast<Index>(indices.size()), x.cols(), "gather_rows: output");
  for (std::size_t i = 0; i < indices.size(); ++i) check_index(indices[i], x.rows(), i);
  copy_rows<Scalar>(x, indices.data(), static_cast<Index>(indices.size()), out);
}

void gather_labels(const Labels& labels, const std::vector<Index>& indices, Labels& out) {
  if (out.size() < static_cast<Index>(indices.size()))
    throw std::invalid_argument("gather_labels: output holds " + std::to_string(out.size()) +
                                " labels, batch has " + std::to_string(indices.size()));
  for (std::size_t i = 0; i < indices.size(); ++i) {
    check_index(indices[i], labels.size(), i);
    out(static_cast<Index>(i)) = labels(indices[i]);
  }
}

template <typename Scalar>
void gather_one_hot(const Labels& labels, const std::vector<Index>& indices, MatrixRef<Scalar> out) {
  if (out.rows() != static_cast<Index>(indices.size()))
    throw std::invalid_argument("gather_one_hot: output has " + std::to_string(out.rows()) +
                                " rows, batch has " + std::to_string(indices.size()));
  out.setZero();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    check_index(indices[i], labels.size(), i);
    const std::int32_t label = labels(indices[i]);
    if (label < 0 || label >= out.cols())
      throw std::invalid_argument("gather_one_hot: label " + std::to_string(label) + " of sample " +
                                  std::to_string(indices[i]) + " is outside 0.." +
                                  std::to_string(out.cols() - 1));
    out(static_cast<Index>(i), label) = Scalar(1);
  }
}

template <typename Scalar>
Batch<Scalar>::Batch(Index capacity, Index features, Index classes)
    : x_(capacity, features), labels_(capacity), targets_(capacity, classes) {}

template <typename Scalar>
void Batch<Scalar>::gather(const ConstMatrixRef<Scalar>& x, const Labels& labels,
                           const std::vector<Index>& indices) {
  const Index n = static_cast<Index>(indices.size());
  if (n > capacity())
    throw std::invalid_argument("Batch::gather: " + std::to_string(n) + " samples exceed capacity " +
                                std::to_string(capacity()));
  if (x.cols() != x_.cols())
    throw std::invalid_argument("Batch::gather: inputs have " + std::to_string(x.cols()) +
                                " features, the batch buffer " + std::to_string(x_.cols()));
  if (labels.size() != x.rows())
    throw std::invalid_argument("Batch::gather: " + std::to_string(x.rows()) + " inputs but " +
                                std::to_string(labels.size()) + " labels");
  size_ = 0;  // an empty batch if a bad index throws below
  gather_rows<Scalar>(x, indices, x_.topRows(n));
  gather_labels(labels, indices, labels_);
  if (targets_.cols() > 0) gather_one_hot<Scalar>(labels, indices, targets_.topRows(n));
  size_ = n;
}

#define EIGENNET_INSTANTIATE(Scalar)                                                                  \
  template void gather_rows<Scalar>(const ConstMatrixRef<Scalar>&, const std::vector<Index>&,         \
                                    MatrixRef<Scalar>);                                               \
  template void gather_one_hot<Scalar>(const Labels&, const std::vector<Index>&, MatrixRef<Scalar>); \
  template class Batch<Scalar>;
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet

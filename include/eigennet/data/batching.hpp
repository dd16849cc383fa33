// Mini-batches: which samples go in each step (BatchSampler), and copying them into
// preallocated buffers (Batch) so that a training step allocates nothing.
#pragma once

#include <vector>

#include "eigennet/random.hpp"
#include "eigennet/types.hpp"

namespace eigennet {

enum class BatchRule {
  // Every step: indices = rng.randint(0, N, size=B, dtype=np.int32) — B independent draws
  // with replacement, exactly numpy's sequence.
  WithReplacement,
  // Every step the same batch: samples 0..B−1 (for overfitting checks and benchmarks).
  FirstB,
  // Epochs over a shuffled order, like DataLoader(shuffle=True, drop_last=False): at the
  // start of each epoch perm = rng.permutation(N); the epoch's batches are perm[0:B],
  // perm[B:2B], ...; the last batch keeps the N mod B leftover samples (it is smaller, not
  // dropped and not padded), so each epoch visits every sample exactly once.
  ShuffledEpochs,
};

// Yields the sample indices of successive batches under one rule. The RandomState is
// borrowed (it must outlive the sampler) and is advanced only by next(); FirstB never uses it.
class BatchSampler {
 public:
  // n samples, batches of batch_size (≥ 1). FirstB needs batch_size ≤ n; n must fit int32
  // for WithReplacement (numpy's dtype). Throws std::invalid_argument otherwise.
  BatchSampler(Index n, Index batch_size, BatchRule rule, RandomState& rng);

  // Indices of the next batch: B of them (fewer for the last batch of a shuffled epoch).
  // The reference stays valid until the next call; no allocation except one permutation
  // per epoch.
  const std::vector<Index>& next();

  // True when the batch last returned by next() finished an epoch (ShuffledEpochs: it held
  // the last samples of the permutation; the other rules: every batch).
  bool epoch_finished() const { return position_ == n_; }
  // Epochs started so far (ShuffledEpochs); steps taken (the other rules).
  Index epoch() const { return epoch_; }
  // ceil(N / B) for ShuffledEpochs, 1 for the other rules.
  Index batches_per_epoch() const;

  Index size() const { return n_; }
  Index batch_size() const { return batch_size_; }
  BatchRule rule() const { return rule_; }

 private:
  Index n_;
  Index batch_size_;
  BatchRule rule_;
  RandomState* rng_;
  std::vector<Index> indices_;      // the current batch
  Labels draws_;                    // WithReplacement: buffer for randint
  std::vector<Index> permutation_;  // ShuffledEpochs: this epoch's order
  Index position_ = 0;              // ShuffledEpochs: samples of this epoch already used
  Index epoch_ = 0;
};

// out.row(i) = x.row(indices[i]). out must be indices.size() × x.cols() (a block of rows of a
// larger buffer is fine). Throws std::out_of_range for an index outside 0..x.rows()−1.
template <typename Scalar>
void gather_rows(const ConstMatrixRef<Scalar>& x, const std::vector<Index>& indices, MatrixRef<Scalar> out);

// out(i) = labels(indices[i]) for i < indices.size(); out.size() must be ≥ indices.size().
void gather_labels(const Labels& labels, const std::vector<Index>& indices, Labels& out);

// out = one-hot rows of labels(indices[i]): indices.size() × classes; throws
// std::invalid_argument naming a label outside 0..classes−1.
template <typename Scalar>
void gather_one_hot(const Labels& labels, const std::vector<Index>& indices, MatrixRef<Scalar> out);

// Buffers for one batch, allocated once with room for `capacity` samples.
template <typename Scalar>
class Batch {
 public:
  // classes > 0 also keeps one-hot targets (capacity × classes); 0 keeps none.
  Batch(Index capacity, Index features, Index classes = 0);

  // Copies the samples at `indices` (at most capacity) from x (N × features) and labels (N).
  void gather(const ConstMatrixRef<Scalar>& x, const Labels& labels, const std::vector<Index>& indices);

  Index size() const { return size_; }
  Index capacity() const { return x_.rows(); }
  // The current batch: size × features inputs, size labels, size × classes one-hot targets.
  MatrixRef<Scalar> x() { return x_.topRows(size_); }
  ConstLabelsRef labels() const { return labels_.head(size_); }
  MatrixRef<Scalar> targets() { return targets_.topRows(size_); }

 private:
  Matrix<Scalar> x_;
  Labels labels_;
  Matrix<Scalar> targets_;
  Index size_ = 0;
};

}  // namespace eigennet

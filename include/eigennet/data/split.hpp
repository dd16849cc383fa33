// Seeded random train/validation split, like torch.utils.data.random_split.
#pragma once

#include <vector>

#include "eigennet/data/mnist.hpp"
#include "eigennet/random.hpp"

namespace eigennet {

struct Split {
  std::vector<Index> train;       // n − n_validation sample indices
  std::vector<Index> validation;  // n_validation sample indices
};

// Draws perm = rng.permutation(n) (one call, numpy's legacy permutation) and splits it in
// order: train = perm[0 : n − n_validation], validation = perm[n − n_validation : n].
// This is random_split(range(n), [n − n_validation, n_validation]) with numpy's permutation
// in place of torch.randperm; the numpy reference is
//   perm = np.random.RandomState(seed).permutation(n)
//   train, validation = perm[:n - n_validation], perm[n - n_validation:]
// Throws std::invalid_argument unless 0 ≤ n_validation ≤ n.
Split random_split(Index n, Index n_validation, RandomState& rng);

// The samples of `set` at `indices`, in that order (paths and image size copied).
ImageSet subset(const ImageSet& set, const std::vector<Index>& indices);

}  // namespace eigennet

// Seeded train/validation split.
#include "eigennet/data/split.hpp"

#include <stdexcept>
#include <string>

namespace eigennet {

Split random_split(Index n, Index n_validation, RandomState& rng) {
  if (n < 0 || n_validation < 0 || n_validation > n)
    throw std::invalid_argument("random_split: cannot take " + std::to_string(n_validation) +
                                " validation samples from " + std::to_string(n));
  const std::vector<Index> perm = rng.permutation(n);
  const auto cut = perm.begin() + (n - n_validation);
  return Split{std::vector<Index>(perm.begin(), cut), std::vector<Index>(cut, perm.end())};
}

ImageSet subset(const ImageSet& set, const std::vector<Index>& indices) {
  ImageSet out;
  out.rows = set.rows;
  out.cols = set.cols;
  out.images_path = set.images_path;
  out.labels_path = set.labels_path;
  out.pixels.resize(static_cast<Index>(indices.size()), set.pixels.cols());
  out.labels.resize(static_cast<Index>(indices.size()));
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const Index src = indices[i];
    if (src < 0 || src >= set.size())
      throw std::out_of_range("subset: index " + std::to_string(src) + " at position " +
                              std::to_string(i) + " is outside 0.." + std::to_string(set.size() - 1));
    out.pixels.row(static_cast<Index>(i)) = set.pixels.row(src);
    out.labels(static_cast<Index>(i)) = set.labels(src);
  }
  return out;
}

}  // namespace eigennet

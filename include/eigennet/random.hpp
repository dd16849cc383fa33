// A random generator that draws exactly the numbers numpy's legacy generator draws.
//
// RandomState(seed) is numpy.random.RandomState(seed): MT19937 seeded with the classic
// init_genrand(seed). Each method documents the numpy call it reproduces, so that a C++ run
// and a numpy/PyTorch reference built from the same seed start from identical values.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "eigennet/types.hpp"

namespace eigennet {

class RandomState {
 public:
  explicit RandomState(std::uint32_t seed = 0);

  // numpy: RandomState.seed(seed) for an integer seed (init_genrand); forgets a cached gaussian.
  void seed(std::uint32_t seed);

  // One raw 32-bit MT19937 output (genrand_int32).
  std::uint32_t next_uint32();

  // numpy: mt19937_next64: two 32-bit draws, the first one is the high word.
  std::uint64_t next_uint64();

  // numpy: random_sample() / rand(): ((a >> 5) * 67108864 + (b >> 6)) / 9007199254740992.
  double random_sample();

  // numpy: uniform(low, high) = low + (high - low) * random_sample().
  double uniform(double low, double high);

  // numpy: standard_normal() by the legacy polar Box–Muller method: draw pairs until
  // 0 < r² < 1, return one value, cache the other for the next call.
  double standard_normal();

  // numpy: normal(loc, scale) = loc + scale * standard_normal(). A negative (or NaN) scale
  // throws std::invalid_argument before anything is drawn, as numpy raises.
  double normal(double loc, double scale);

  // numpy: randint(low, high, dtype=np.int32): masked rejection on 32-bit draws
  // (mask = smallest all-ones ≥ high−low−1, redraw while above). high > low required
  // (std::invalid_argument otherwise, as numpy's ValueError).
  std::int32_t randint(std::int32_t low, std::int32_t high);

  // numpy: randint(low, high, size=out.size(), dtype=np.int32), in order.
  void randint(std::int32_t low, std::int32_t high, Labels& out);

  // numpy: random_interval(max) used by shuffle/permutation: uniform integer in [0, max].
  std::uint64_t random_interval(std::uint64_t max);

  // numpy: permutation(n) (legacy: arange(n) then shuffle). n < 0: std::invalid_argument.
  std::vector<Index> permutation(Index n);
  // The same draws into `out` (resized to n: no allocation once it holds n entries).
  void permutation(Index n, std::vector<Index>& out);

  // numpy: shuffle(x) for a 1-D sequence (legacy Fisher–Yates from the end).
  template <typename T>
  void shuffle(std::vector<T>& values) {
    for (std::size_t i = values.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(random_interval(i - 1));
      std::swap(values[i - 1], values[j]);
    }
  }

  // Fill a matrix in row-major (C) order, as numpy fills an array of that shape: draw in
  // double, then cast to the matrix's scalar (numpy's .astype(np.float32)).
  template <typename Derived>
  void fill_normal(Eigen::DenseBase<Derived>& m, double loc, double scale) {
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c)
        m(r, c) = static_cast<typename Derived::Scalar>(normal(loc, scale));
  }
  template <typename Derived>
  void fill_uniform(Eigen::DenseBase<Derived>& m, double low, double high) {
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c)
        m(r, c) = static_cast<typename Derived::Scalar>(uniform(low, high));
  }

 private:
  void generate();  // refill the 624-word state

  std::array<std::uint32_t, 624> state_{};
  int position_ = 624;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

}  // namespace eigennet

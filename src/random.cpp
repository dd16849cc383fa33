// eigennet::RandomState: numpy's legacy numpy.random.RandomState, draw for draw.
//
// Every method follows the numpy 1.24 C code it names (numpy/random/src/mt19937/mt19937.c,
// distributions/distributions.c, legacy/legacy-distributions.c). The order of the 32-bit
// draws and the exact floating-point operations matter: tests/core/test_random.cpp checks
// the results bit for bit against vectors written by numpy itself.
#include "eigennet/random.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

// No floating-point contraction in this file. The build uses -march=native, and GCC
// contracts a*b + c into one FMA by default even without -ffast-math; numpy's own build
// (baseline x86-64, no FMA) rounds the product first. An FMA in `x1*x1 + x2*x2` or
// `loc + scale*z` changes the last bit of the result, so the values would no longer be
// numpy's. Placed after the includes so that it applies only to the functions below.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace eigennet {

namespace {

constexpr int kStateSize = 624;  // MT19937 N
constexpr int kShift = 397;      // MT19937 M
constexpr std::uint32_t kMatrixA = 0x9908b0dfU;
constexpr std::uint32_t kUpperMask = 0x80000000U;
constexpr std::uint32_t kLowerMask = 0x7fffffffU;

// Smallest 2^k - 1 that is >= value: numpy's gen_mask / the mask of random_interval.
std::uint64_t all_ones_mask(std::uint64_t value) {
  value |= value >> 1;
  value |= value >> 2;
  value |= value >> 4;
  value |= value >> 8;
  value |= value >> 16;
  value |= value >> 32;
  return value;
}

// numpy: buffered_bounded_masked_uint32 (the buffer is unused for 32-bit draws): a value in
// [0, range] by rejection of masked 32-bit draws.
std::uint32_t bounded_masked_uint32(RandomState& rs, std::uint32_t range, std::uint32_t mask) {
  std::uint32_t value;
  do {
    value = rs.next_uint32() & mask;
  } while (value > range);
  return value;
}

// numpy's randint(low, high) draws from the closed interval [low, high - 1]: its width
// minus one, as uint32 (numpy's `rng`).
std::uint32_t closed_range(std::int32_t low, std::int32_t high) {
  if (high <= low)
    throw std::invalid_argument("RandomState::randint: low >= high (" + std::to_string(low) +
                                " >= " + std::to_string(high) + ")");
  return static_cast<std::uint32_t>(static_cast<std::int64_t>(high) - low - 1);
}

}  // namespace

RandomState::RandomState(std::uint32_t seed) { this->seed(seed); }

// numpy: RandomState._legacy_seeding(int) -> mt19937_seed (init_genrand), then
// _reset_state_variables (has_gauss = 0, gauss = 0.0).
void RandomState::seed(std::uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < kStateSize; ++i) {
    const std::uint32_t prev = state_[i - 1];
    // Unsigned arithmetic: the wrap-around modulo 2^32 is the algorithm.
    state_[i] = 1812433253U * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(i);
  }
  position_ = kStateSize;  // generate() on the first draw, as numpy's pos = RK_STATE_LEN
  has_gauss_ = false;
  gauss_ = 0.0;
}

// numpy: mt19937_gen.
void RandomState::generate() {
  auto twist = [this](int i, int next, int far) {
    const std::uint32_t y = (state_[i] & kUpperMask) | (state_[next] & kLowerMask);
    state_[i] = state_[far] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
  };
  int i = 0;
  for (; i < kStateSize - kShift; ++i) twist(i, i + 1, i + kShift);
  for (; i < kStateSize - 1; ++i) twist(i, i + 1, i + kShift - kStateSize);
  twist(kStateSize - 1, 0, kShift - 1);
  position_ = 0;
}

// numpy: mt19937_next (genrand_int32 with tempering).
std::uint32_t RandomState::next_uint32() {
  if (position_ == kStateSize) generate();
  std::uint32_t y = state_[position_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

// numpy: mt19937_next64. numpy writes it as `next() << 32 | next()`, whose evaluation order
// C leaves open; checked against numpy (shuffle with len > 2^32, randint uint64): the first
// draw is the high word.
std::uint64_t RandomState::next_uint64() {
  const std::uint64_t high = next_uint32();
  const std::uint64_t low = next_uint32();
  return (high << 32) | low;
}

// numpy: mt19937_next_double / legacy_double, behind random_sample(). Two statements fix
// the draw order (a first); 27 + 26 bits make a double in [0, 1) with 53 random bits.
double RandomState::random_sample() {
  const std::uint32_t a = next_uint32() >> 5;
  const std::uint32_t b = next_uint32() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

// numpy: random_uniform(lower, range) behind RandomState.uniform: numpy computes
// range = high - low once, then low + range * random_sample().
double RandomState::uniform(double low, double high) {
  const double range = high - low;
  return low + range * random_sample();
}

// numpy: legacy_gauss behind RandomState.standard_normal / normal (the polar Box–Muller
// method, not the ziggurat of numpy.random.Generator). Each accepted pair gives two values:
// f*x2 now, f*x1 on the next call.
double RandomState::standard_normal() {
  if (has_gauss_) {
    has_gauss_ = false;
    const double cached = gauss_;
    gauss_ = 0.0;
    return cached;
  }
  double x1;
  double x2;
  double r2;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

// numpy: legacy_normal behind RandomState.normal.
double RandomState::normal(double loc, double scale) {
  if (!(scale >= 0))  // numpy raises ValueError("scale < 0"), before drawing
    throw std::invalid_argument("normal: scale (std) must be ≥ 0, got " + std::to_string(scale));
  return loc + scale * standard_normal();
}

// numpy: RandomState.randint(low, high, dtype=np.int32) -> _rand_int32 ->
// random_bounded_uint32_fill with use_masked = True (the legacy generator never uses
// Lemire's method). A one-value range returns low without drawing.
std::int32_t RandomState::randint(std::int32_t low, std::int32_t high) {
  const std::uint32_t range = closed_range(low, high);
  if (range == 0) return low;
  const auto mask = static_cast<std::uint32_t>(all_ones_mask(range));
  // low + value <= high - 1: computed in 64 bits, it never leaves the int32 range.
  return static_cast<std::int32_t>(low + static_cast<std::int64_t>(bounded_masked_uint32(*this, range, mask)));
}

// numpy: RandomState.randint(low, high, size=n, dtype=np.int32): the same draws as n scalar
// calls, in order (the 32-bit path has no buffering between elements).
void RandomState::randint(std::int32_t low, std::int32_t high, Labels& out) {
  const std::uint32_t range = closed_range(low, high);
  if (range == 0) {
    out.setConstant(low);
    return;
  }
  const auto mask = static_cast<std::uint32_t>(all_ones_mask(range));
  for (Index i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::int32_t>(low + static_cast<std::int64_t>(bounded_masked_uint32(*this, range, mask)));
}

// numpy: random_interval (distributions.c), used by the legacy shuffle and permutation:
// masked rejection, with 32-bit draws while max fits in 32 bits and 64-bit draws beyond.
std::uint64_t RandomState::random_interval(std::uint64_t max) {
  if (max == 0) return 0;
  const std::uint64_t mask = all_ones_mask(max);
  std::uint64_t value;
  if (max <= 0xffffffffULL) {
    do {
      value = next_uint32() & mask;
    } while (value > max);
  } else {
    do {
      value = next_uint64() & mask;
    } while (value > max);
  }
  return value;
}

// numpy: RandomState.permutation(n) for an integer n: arr = np.arange(n); shuffle(arr).
std::vector<Index> RandomState::permutation(Index n) {
  std::vector<Index> values;
  permutation(n, values);
  return values;
}

void RandomState::permutation(Index n, std::vector<Index>& out) {
  if (n < 0)
    throw std::invalid_argument("RandomState::permutation: negative length " + std::to_string(n));
  out.resize(static_cast<std::size_t>(n));
  std::iota(out.begin(), out.end(), Index{0});
  shuffle(out);
}

}  // namespace eigennet

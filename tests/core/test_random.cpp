// eigennet::RandomState against numpy's legacy RandomState, bit for bit.
//
// The expected values are tests/data/rng_vectors.txt, written by numpy itself with
// tests/reference/make_rng_vectors.py (the file format and every step's numpy call are
// described there). Each case is replayed from its seed with the matching C++ calls; doubles
// must have the same bits, integers the same value.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/random.hpp"

namespace {

using eigennet::Index;
using eigennet::Labels;
using eigennet::Matrix;
using eigennet::RandomState;

struct Step {
  std::string op;
  std::vector<std::string> args;
  std::vector<std::string> values;  // numpy's output, as written (repr for doubles)
  int line = 0;
};

struct Case {
  std::string name;
  std::uint32_t seed = 0;
  std::vector<Step> steps;
};

std::string vectors_path() {
  const char* dir = std::getenv("EIGENNET_TEST_DATA");
  return std::string(dir != nullptr ? dir : "tests/data") + "/rng_vectors.txt";
}

std::vector<Case> parse_vectors(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + " (is EIGENNET_TEST_DATA set?)");
  std::vector<Case> cases;
  bool open = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream tokens(line);
    std::string word;
    tokens >> word;
    const std::string where = path + ":" + std::to_string(number);
    if (word == "case") {
      Case c;
      unsigned long long seed = 0;
      if (open || !(tokens >> c.name >> seed)) throw std::runtime_error(where + ": bad case line");
      c.seed = static_cast<std::uint32_t>(seed);
      cases.push_back(c);
      open = true;
    } else if (word == "end") {
      if (!open) throw std::runtime_error(where + ": end outside a case");
      open = false;
    } else {
      if (!open) throw std::runtime_error(where + ": step outside a case");
      Step step;
      step.op = word;
      step.line = number;
      bool after_equals = false;
      while (tokens >> word) {
        if (word == "=") {
          after_equals = true;
          continue;
        }
        (after_equals ? step.values : step.args).push_back(word);
      }
      if (!after_equals) throw std::runtime_error(where + ": step without '='");
      cases.back().steps.push_back(step);
    }
  }
  if (open) throw std::runtime_error(path + ": last case has no end");
  return cases;
}

// Parsed once for all test cases.
const std::vector<Case>& vectors() {
  static const std::vector<Case> cases = parse_vectors(vectors_path());
  return cases;
}

double to_double(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);  // correctly rounded: repr reads back exactly
  if (end == text.c_str() || *end != '\0') throw std::runtime_error("not a number: " + text);
  return value;
}

std::uint64_t bits(double value) {
  std::uint64_t b;
  std::memcpy(&b, &value, sizeof b);
  return b;
}

std::string exact(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// What one replayed step produced: integers as decimal text (Python's str(int) is the
// canonical form, so equal integers give equal text), doubles as values.
struct Output {
  std::vector<std::string> integers;
  std::vector<double> doubles;
  bool is_double = false;
};

template <typename T>
void push_integer(Output& out, T value) {
  out.integers.push_back(std::to_string(value));
}

Output run_step(RandomState& rs, const Step& step) {
  const auto& a = step.args;
  const auto arg_int = [&](std::size_t i) { return std::stoll(a.at(i)); };
  const auto arg_double = [&](std::size_t i) { return to_double(a.at(i)); };
  const auto arg_i32 = [&](std::size_t i) { return static_cast<std::int32_t>(arg_int(i)); };
  Output out;
  const std::string& op = step.op;
  if (op == "uint32") {
    for (long long i = 0; i < arg_int(0); ++i) push_integer(out, rs.next_uint32());
  } else if (op == "random_sample") {
    out.is_double = true;
    for (long long i = 0; i < arg_int(0); ++i) out.doubles.push_back(rs.random_sample());
  } else if (op == "standard_normal") {
    out.is_double = true;
    for (long long i = 0; i < arg_int(0); ++i) out.doubles.push_back(rs.standard_normal());
  } else if (op == "normal" || op == "normal_scalar") {
    out.is_double = true;
    for (long long i = 0; i < arg_int(2); ++i) out.doubles.push_back(rs.normal(arg_double(0), arg_double(1)));
  } else if (op == "uniform") {
    out.is_double = true;
    for (long long i = 0; i < arg_int(2); ++i) out.doubles.push_back(rs.uniform(arg_double(0), arg_double(1)));
  } else if (op == "normal_matrix" || op == "uniform_matrix") {
    out.is_double = true;
    Matrix<double> m(arg_int(2), arg_int(3));
    if (op == "normal_matrix")
      rs.fill_normal(m, arg_double(0), arg_double(1));
    else
      rs.fill_uniform(m, arg_double(0), arg_double(1));
    for (Index r = 0; r < m.rows(); ++r)  // C order, as numpy lays out the array
      for (Index c = 0; c < m.cols(); ++c) out.doubles.push_back(m(r, c));
  } else if (op == "normal_matrix_f32") {
    out.is_double = true;
    Matrix<float> m(arg_int(2), arg_int(3));
    rs.fill_normal(m, arg_double(0), arg_double(1));
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c) out.doubles.push_back(static_cast<double>(m(r, c)));
  } else if (op == "randint") {
    Labels labels(arg_int(2));
    rs.randint(arg_i32(0), arg_i32(1), labels);
    for (Index i = 0; i < labels.size(); ++i) push_integer(out, labels[i]);
  } else if (op == "randint_scalar") {
    for (long long i = 0; i < arg_int(2); ++i) push_integer(out, rs.randint(arg_i32(0), arg_i32(1)));
  } else if (op == "permutation") {
    for (Index v : rs.permutation(arg_int(0))) push_integer(out, v);
  } else if (op == "permutation_summary") {
    const std::vector<Index> p = rs.permutation(arg_int(0));
    const auto k = static_cast<std::size_t>(arg_int(1));
    std::uint64_t sum = 0;
    std::uint64_t hash = 14695981039346656037ULL;  // same FNV-1a style hash as the script
    for (std::size_t i = 0; i < p.size(); ++i) {
      sum += (i + 1) * static_cast<std::uint64_t>(p[i]);
      hash = (hash ^ static_cast<std::uint64_t>(p[i])) * 1099511628211ULL;
    }
    push_integer(out, sum);
    push_integer(out, hash);
    for (std::size_t i = 0; i < k; ++i) push_integer(out, p[i]);
    for (std::size_t i = p.size() - k; i < p.size(); ++i) push_integer(out, p[i]);
  } else if (op == "shuffle_list") {
    std::vector<int> x(static_cast<std::size_t>(arg_int(0)));
    std::iota(x.begin(), x.end(), 0);
    rs.shuffle(x);
    for (int v : x) push_integer(out, v);
  } else if (op == "random_interval_desc") {
    const std::uint64_t max = std::stoull(a.at(0));
    for (long long i = 0; i < arg_int(1); ++i) push_integer(out, rs.random_interval(max - static_cast<std::uint64_t>(i)));
  } else if (op == "seed") {
    rs.seed(static_cast<std::uint32_t>(std::stoull(a.at(0))));
  } else {
    throw std::runtime_error("unknown step '" + op + "' on line " + std::to_string(step.line));
  }
  return out;
}

// Replays a case from `seed` (normally the case's own). Returns an empty string when every
// value matches, else where and how the first mismatch differs. Counts compared values.
std::string replay(const Case& c, std::uint32_t seed, std::size_t* compared = nullptr) {
  RandomState rs(seed);
  for (const Step& step : c.steps) {
    const Output out = run_step(rs, step);
    const std::string where = "case " + c.name + " (seed " + std::to_string(c.seed) + "), line " +
                              std::to_string(step.line) + " '" + step.op + "'";
    const std::size_t n = out.is_double ? out.doubles.size() : out.integers.size();
    if (n != step.values.size())
      return where + ": produced " + std::to_string(n) + " values, numpy " + std::to_string(step.values.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (out.is_double) {
        const double expected = to_double(step.values[i]);
        if (bits(out.doubles[i]) != bits(expected))
          return where + ", value " + std::to_string(i) + ": got " + exact(out.doubles[i]) + ", numpy " +
                 exact(expected);
      } else if (out.integers[i] != step.values[i]) {
        return where + ", value " + std::to_string(i) + ": got " + out.integers[i] + ", numpy " + step.values[i];
      }
    }
    if (compared != nullptr) *compared += n;
  }
  return {};
}

// Replays every case called `name`; fails unless there is at least one.
void check_cases(const std::string& name) {
  std::size_t found = 0;
  std::size_t compared = 0;
  for (const Case& c : vectors()) {
    if (c.name != name) continue;
    ++found;
    const std::string mismatch = replay(c, c.seed, &compared);
    CHECK_MESSAGE(mismatch.empty(), mismatch);
  }
  if (found == 0) FAIL("no case '" << name << "' in " << vectors_path());
  MESSAGE("case '" << name << "': " << found << " seeds, " << compared << " values compared");
}

const Case& find_case(const std::string& name, std::uint32_t seed) {
  for (const Case& c : vectors())
    if (c.name == name && c.seed == seed) return c;
  throw std::runtime_error("no case " + name + " with seed " + std::to_string(seed));
}

}  // namespace

TEST_CASE("reference vectors are present") {
  const std::vector<Case>& cases = vectors();
  CHECK(cases.size() >= 40);
  std::size_t steps = 0;
  for (const Case& c : cases) steps += c.steps.size();
  CHECK(steps >= 200);
}

TEST_CASE("MT19937 seeding matches init_genrand") {
  // Independent of the data file: the first genrand_int32 outputs of the reference MT19937.
  CHECK(RandomState(5489).next_uint32() == 3499211612U);  // Matsumoto–Nishimura's default seed
  CHECK(RandomState(0).next_uint32() == 2357136044U);
  CHECK(RandomState().next_uint32() == 2357136044U);  // the default seed is 0
}

TEST_CASE("raw 32-bit draws match numpy (across the state regeneration)") { check_cases("raw"); }
TEST_CASE("random_sample matches numpy") { check_cases("random_sample"); }
TEST_CASE("normal and standard_normal match numpy, cached gaussian included") { check_cases("normal"); }
TEST_CASE("uniform and fill_uniform match numpy") { check_cases("uniform"); }
TEST_CASE("randint(dtype=np.int32) matches numpy, scalar and array") { check_cases("randint"); }
TEST_CASE("permutation and shuffle match numpy") { check_cases("permutation"); }
TEST_CASE("random_interval matches numpy, 64-bit draws included") { check_cases("random_interval"); }
TEST_CASE("seed() forgets the cached gaussian, as numpy's") { check_cases("reseed"); }
TEST_CASE("a training script's interleaved calls match numpy") {
  check_cases("interleaved");
  check_cases("interleaved_f32");
}

TEST_CASE("a wrong seed does not match") {
  // The comparison must be able to fail: replaying from a neighbouring seed differs.
  for (const char* name : {"raw", "random_sample", "normal", "randint", "permutation", "interleaved"}) {
    for (const Case& c : vectors()) {
      if (c.name != name) continue;
      INFO("case " << c.name << ", seed " << c.seed);
      CHECK_FALSE(replay(c, c.seed + 1U).empty());
      CHECK_FALSE(replay(c, c.seed ^ 0x80000000U).empty());
      CHECK(replay(c, c.seed).empty());
    }
  }
}

TEST_CASE("a one-ulp difference is a mismatch") {
  // What a fused multiply-add in `loc + scale * z` would do to a value.
  Case c = find_case("normal", 42);
  REQUIRE(c.steps.size() >= 2);
  REQUIRE(replay(c, c.seed).empty());
  std::string& value = c.steps[1].values.at(1);
  value = exact(std::nextafter(to_double(value), 1.0));
  CHECK_FALSE(replay(c, c.seed).empty());
}

TEST_CASE("RandomState edge cases behave as numpy's") {
  SUBCASE("randint rejects an empty range") {
    RandomState rs(1);
    CHECK_THROWS_AS(rs.randint(5, 5), std::invalid_argument);
    CHECK_THROWS_AS(rs.randint(6, 5), std::invalid_argument);
    Labels labels(3);
    CHECK_THROWS_AS(rs.randint(0, 0, labels), std::invalid_argument);
  }
  SUBCASE("a one-value range and random_interval(0) draw nothing") {
    RandomState rs(7);
    RandomState fresh(7);
    CHECK(rs.randint(-4, -3) == -4);
    Labels labels(5);
    rs.randint(9, 10, labels);
    CHECK((labels.array() == 9).all());
    CHECK(rs.random_interval(0) == 0);
    CHECK(rs.next_uint32() == fresh.next_uint32());
  }
  SUBCASE("next_uint64 is the first draw in the high word") {
    RandomState a(42);
    RandomState b(42);
    const std::uint64_t high = b.next_uint32();
    const std::uint64_t low = b.next_uint32();
    CHECK(a.next_uint64() == ((high << 32) | low));
  }
  SUBCASE("seed() restarts the stream") {
    RandomState rs(3);
    const double first = rs.standard_normal();
    rs.standard_normal();
    rs.standard_normal();  // a gaussian is cached now
    rs.seed(3);
    CHECK(bits(rs.standard_normal()) == bits(first));
  }
  SUBCASE("permutation of 0 and of a negative length") {
    RandomState rs(0);
    CHECK(rs.permutation(0).empty());
    CHECK_THROWS_AS(rs.permutation(-1), std::invalid_argument);
  }
}

TEST_CASE("normal with a negative scale throws before drawing, as numpy's raises") {
  RandomState rng(5), fresh(5);
  CHECK_THROWS_WITH_AS(rng.normal(0.0, -1.0), doctest::Contains("scale (std) must be ≥ 0, got -1"),
                       std::invalid_argument);
  Matrix<double> m(2, 3);
  CHECK_THROWS_AS(rng.fill_normal(m, 0.0, -0.5), std::invalid_argument);
  CHECK(rng.normal(0.0, 1.0) == fresh.normal(0.0, 1.0));  // nothing was drawn by the refused calls
  CHECK(rng.normal(1.0, 0.0) == 1.0);                     // scale 0 is allowed, as in numpy
}

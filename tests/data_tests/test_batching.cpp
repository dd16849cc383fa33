// The three batch rules and gathering into preallocated buffers.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "eigennet/data/batching.hpp"
#include "eigennet/threads.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

TEST_CASE("with replacement: each step is rng.randint(0, N, size=B)") {
  RandomState rng(7);
  RandomState reference(7);
  BatchSampler sampler(1000, 32, BatchRule::WithReplacement, rng);
  Labels draws(32);
  for (int step = 0; step < 5; ++step) {
    const std::vector<Index>& batch = sampler.next();
    reference.randint(0, 1000, draws);
    REQUIRE(batch.size() == 32);
    for (Index i = 0; i < 32; ++i) CHECK(batch[static_cast<std::size_t>(i)] == draws(i));
  }
  CHECK(sampler.epoch() == 5);
}

TEST_CASE("with replacement equals numpy RandomState(seed).randint(0, N, size=B, dtype=np.int32)") {
  TempDir dir;
  const std::string out = run_python_ok(dir, R"(
rng = np.random.RandomState(1234)
for step in range(3):
    print(*rng.randint(0, 60000, size=64, dtype=np.int32))
)");
  const std::vector<long long> expected = parse_ints(out);
  REQUIRE(expected.size() == 3 * 64);
  RandomState rng(1234);
  BatchSampler sampler(60000, 64, BatchRule::WithReplacement, rng);
  for (std::size_t step = 0; step < 3; ++step) {
    const std::vector<Index>& batch = sampler.next();
    for (std::size_t i = 0; i < 64; ++i) REQUIRE(batch[i] == expected[step * 64 + i]);
  }
}

TEST_CASE("first B: the same samples 0..B-1 every step, rng untouched") {
  RandomState rng(3);
  BatchSampler sampler(100, 4, BatchRule::FirstB, rng);
  for (int step = 0; step < 3; ++step) CHECK(sampler.next() == std::vector<Index>{0, 1, 2, 3});
  RandomState fresh(3);
  CHECK(rng.next_uint32() == fresh.next_uint32());
  CHECK_THROWS_AS(BatchSampler(3, 4, BatchRule::FirstB, rng), std::invalid_argument);
}

TEST_CASE("shuffled epochs: permutation(N) per epoch, batches of B, last partial batch kept") {
  RandomState rng(11);
  RandomState reference(11);
  BatchSampler sampler(10, 4, BatchRule::ShuffledEpochs, rng);
  CHECK(sampler.batches_per_epoch() == 3);
  for (int epoch = 1; epoch <= 3; ++epoch) {
    const std::vector<Index> perm = reference.permutation(10);
    std::vector<Index> seen;
    const std::size_t sizes[] = {4, 4, 2};
    for (std::size_t b = 0; b < 3; ++b) {
      const std::vector<Index>& batch = sampler.next();
      CHECK(sampler.epoch() == epoch);
      REQUIRE(batch.size() == sizes[b]);
      CHECK(sampler.epoch_finished() == (b == 2));
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    CHECK(seen == perm);  // consecutive slices of this epoch's permutation
    std::sort(seen.begin(), seen.end());
    std::vector<Index> all(10);
    std::iota(all.begin(), all.end(), 0);
    CHECK(seen == all);  // every index exactly once
  }
}

TEST_CASE("shuffled epochs equal numpy permutations") {
  TempDir dir;
  const std::string out = run_python_ok(dir, R"(
rng = np.random.RandomState(5)
print(*rng.permutation(50), *rng.permutation(50))
)");
  const std::vector<long long> expected = parse_ints(out);
  REQUIRE(expected.size() == 100);
  RandomState rng(5);
  BatchSampler sampler(50, 16, BatchRule::ShuffledEpochs, rng);
  std::size_t k = 0;
  for (int b = 0; b < 2 * sampler.batches_per_epoch(); ++b)
    for (Index i : sampler.next()) REQUIRE(i == expected[k++]);
  CHECK(k == 100);
}

TEST_CASE_TEMPLATE("Batch gathers rows, labels and one-hot targets without reallocating", Scalar, float,
                   double) {
  Matrix<Scalar> x(5, 3);
  for (Index r = 0; r < 5; ++r)
    for (Index c = 0; c < 3; ++c) x(r, c) = Scalar(10 * r + c);
  Labels labels(5);
  labels << 4, 3, 2, 1, 0;

  Batch<Scalar> batch(4, 3, 5);
  const Scalar* storage = batch.x().data();
  batch.gather(x, labels, {3, 0, 3, 1});
  REQUIRE(batch.size() == 4);
  CHECK(batch.x().row(0) == x.row(3));
  CHECK(batch.x().row(2) == x.row(3));
  CHECK(batch.x()(3, 2) == Scalar(12));
  CHECK(batch.labels()(1) == 4);
  CHECK(batch.targets().rows() == 4);
  CHECK(batch.targets()(0, 1) == 1);
  CHECK(batch.targets().row(0).sum() == 1);

  batch.gather(x, labels, {2, 4});  // a last, partial batch
  CHECK(batch.size() == 2);
  CHECK(batch.x().rows() == 2);
  CHECK(batch.x().data() == storage);
  CHECK(batch.x().row(1) == x.row(4));
  CHECK(batch.targets()(1, 0) == 1);
  CHECK(batch.targets().row(1).sum() == 1);

  CHECK_THROWS_AS(batch.gather(x, labels, {0, 1, 2, 3, 4}), std::invalid_argument);
  CHECK_THROWS_AS(batch.gather(x, labels, {5}), std::out_of_range);

  Matrix<Scalar> out(2, 3);
  gather_rows<Scalar>(x, {1, 1}, out);
  CHECK(out.row(1) == x.row(1));
}

TEST_CASE_TEMPLATE("gather_rows: a large batch split over two threads copies every row, in order", Scalar, float,
                   double) {
  // 400 rows of 100 entries (40k: two threads by the split threshold) out of 1000, a repeat too.
  Matrix<Scalar> x(1000, 100);
  for (Index r = 0; r < x.rows(); ++r)
    for (Index c = 0; c < x.cols(); ++c) x(r, c) = Scalar(r * 1000 + c);
  std::vector<Index> indices(400);
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = Index((i * 7919) % 1000);
  indices[399] = indices[0];
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    ThreadCountScope scope(threads);
    Matrix<Scalar> out = Matrix<Scalar>::Constant(400, 100, Scalar(-1));
    gather_rows<Scalar>(x, indices, out);
    Index wrong = 0;
    for (Index r = 0; r < 400; ++r) wrong += out.row(r) != x.row(indices[std::size_t(r)]);
    CHECK(wrong == 0);
    // Negative control: the same check sees one row left out.
    out.row(250).setConstant(Scalar(-1));
    Index wrong_after = 0;
    for (Index r = 0; r < 400; ++r) wrong_after += out.row(r) != x.row(indices[std::size_t(r)]);
    CHECK(wrong_after == 1);
  }
}

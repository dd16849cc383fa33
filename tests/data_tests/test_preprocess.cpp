// Scaling, one-hot targets, the three normalisations and the seeded split.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "eigennet/data/preprocess.hpp"
#include "eigennet/data/split.hpp"
#include "eigennet/threads.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

TEST_CASE_TEMPLATE("to_unit_scale divides by 255 like numpy", Scalar, float, double) {
  PixelMatrix p(2, 3);
  p << 0, 1, 128, 200, 254, 255;
  const Matrix<Scalar> x = to_unit_scale<Scalar>(p);
  REQUIRE(x.rows() == 2);
  REQUIRE(x.cols() == 3);
  CHECK(x(0, 0) == Scalar(0));
  CHECK(x(1, 2) == Scalar(1));
  CHECK(x(0, 2) == Scalar(128) / Scalar(255));  // a division, bit for bit
  CHECK(x(1, 0) == Scalar(200) / Scalar(255));
}

TEST_CASE_TEMPLATE("one_hot puts a single 1 per row", Scalar, float, double) {
  Labels labels(4);
  labels << 2, 0, 1, 2;
  const Matrix<Scalar> y = one_hot<Scalar>(labels, 3);
  Matrix<Scalar> expected(4, 3);
  expected << 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1;
  CHECK(y == expected);

  labels(1) = 3;
  const std::string msg = message_of<std::invalid_argument>([&] { one_hot<Scalar>(labels, 3); });
  INFO(msg);
  CHECK(contains(msg, "label 3 at index 1 is outside 0..2"));
}

TEST_CASE_TEMPLATE("normalisations: whole set, fixed constants, per batch", Scalar, float, double) {
  Matrix<Scalar> x(2, 2);
  x << 1, 2, 3, 4;

  SUBCASE("statistics are numpy's mean() and population std()") {
    const Normalization n = compute_normalization<Scalar>(x);
    CHECK(n.mean == 2.5);
    CHECK(n.std == doctest::Approx(std::sqrt(1.25)).epsilon(1e-15));
  }
  SUBCASE("whole set: each set its own statistics") {
    Matrix<Scalar> other(1, 2);
    other << 10, 20;
    const Normalization a = normalize_whole_set<Scalar>(x);
    const Normalization b = normalize_whole_set<Scalar>(other);
    CHECK(a.mean == 2.5);
    CHECK(b.mean == 15);
    CHECK(b.std == 5);
    CHECK(x(0, 0) == (Scalar(1) - Scalar(2.5)) / static_cast<Scalar>(std::sqrt(1.25)));
    CHECK(other(0, 0) == Scalar(-1));
    CHECK(other(0, 1) == Scalar(1));
  }
  SUBCASE("fixed constants, default MNIST's") {
    Matrix<Scalar> y = x / Scalar(10);
    normalize_fixed<Scalar>(y);
    // numpy: (x - 0.1307) / 0.3081 with the constants cast to the array's dtype.
    CHECK(y(0, 0) == (Scalar(1) / Scalar(10) - Scalar(0.1307)) / Scalar(0.3081));
    normalize_fixed<Scalar>(x, Normalization{1.0, 2.0});
    CHECK(x(1, 1) == Scalar(1.5));
  }
  SUBCASE("per batch: a block of rows, in place, others untouched") {
    Matrix<Scalar> big(4, 2);
    big << 1, 2, 3, 4, 100, 100, 7, 7;
    const Normalization n = normalize_batch<Scalar>(big.topRows(2));
    CHECK(n.mean == 2.5);
    const Normalization after = compute_normalization<Scalar>(big.topRows(2));
    CHECK(std::abs(after.mean) < 1e-6);
    CHECK(std::abs(after.std - 1) < 1e-6);
    CHECK(big(2, 0) == 100);
    // A constant batch has no spread: an error rather than NaNs.
    const std::string msg =
        message_of<std::invalid_argument>([&] { normalize_batch<Scalar>(big.bottomRows(1)); });
    CHECK(contains(msg, "std must be > 0"));
  }
}

TEST_CASE_TEMPLATE("unit_scale_rows: rows gathered from the bytes equal the converted matrix's, bit for bit", Scalar,
                   float, double) {
  // 500 images of 97 pixels, every byte value present; 400 rows gathered (39k entries: two
  // threads by the split threshold), a repeat among them.
  PixelMatrix pixels(500, 97);
  for (Index r = 0; r < pixels.rows(); ++r)
    for (Index c = 0; c < pixels.cols(); ++c) pixels(r, c) = std::uint8_t((r * 131 + c * 7 + r * c) % 256);
  std::vector<Index> indices(400);
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = Index((i * 7919) % 500);
  indices[399] = indices[0];

  const Matrix<Scalar> unit = to_unit_scale<Scalar>(pixels);
  const Normalization whole = compute_normalization<Scalar>(unit);
  CHECK(unit_scale_normalization<Scalar>(pixels).mean == whole.mean);  // the same sums, not close ones
  CHECK(unit_scale_normalization<Scalar>(pixels).std == whole.std);
  for (const Normalization n : {Normalization{0.0, 1.0}, kMnistNormalization, whole}) {
    CAPTURE(n.mean);
    Matrix<Scalar> expected = unit;
    if (n.mean != 0.0) apply_normalization<Scalar>(expected, n);
    const ByteRows<Scalar> rows = unit_scale_rows<Scalar>(pixels, n);
    REQUIRE(rows.rows() == 500);
    REQUIRE(rows.cols() == 97);
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      ThreadCountScope scope(threads);
      Matrix<Scalar> out = Matrix<Scalar>::Constant(400, 97, Scalar(-7));
      copy_rows<Scalar>(rows, indices.data(), 400, out);
      Index wrong = 0;
      for (Index r = 0; r < 400; ++r) wrong += out.row(r) != expected.row(indices[std::size_t(r)]);
      CHECK(wrong == 0);
      // Contiguous rows, into a block of a larger matrix (its stride is not the width).
      Matrix<Scalar> wide = Matrix<Scalar>::Constant(450, 120, Scalar(-7));
      copy_rows<Scalar>(rows, 50, 450, wide.leftCols(97));
      CHECK(wide.leftCols(97) == expected.bottomRows(450));
      CHECK((wide.rightCols(23).array() == Scalar(-7)).all());
      // Negative control: the comparison sees one entry off by one ulp.
      out(123, 45) = std::nextafter(out(123, 45), Scalar(2));
      Index wrong_after = 0;
      for (Index r = 0; r < 400; ++r) wrong_after += out.row(r) != expected.row(indices[std::size_t(r)]);
      CHECK(wrong_after == 1);
    }
  }
  // Multiplying by 1/255 instead of dividing would differ (the reason the division is kept).
  Index differ = 0;
  for (int v = 0; v < 256; ++v) differ += Scalar(v) * (Scalar(1) / Scalar(255)) != Scalar(v) / Scalar(255);
  CHECK(differ > 0);

  const std::string msg =
      message_of<std::invalid_argument>([&] { unit_scale_rows<Scalar>(pixels, Normalization{0.5, 0.0}); });
  CHECK(contains(msg, "std must be > 0"));
  CHECK_THROWS_AS(ByteRows<Scalar>(pixels, std::numeric_limits<Scalar>::quiet_NaN(), Scalar(1)),
                  std::invalid_argument);
  CHECK_THROWS_AS(unit_scale_normalization<Scalar>(PixelMatrix(0, 3)), std::invalid_argument);
}

TEST_CASE("random_split: permutation(n), first n - n_val to train, rest to validation") {
  RandomState rng(42);
  const Split split = random_split(10, 3, rng);
  REQUIRE(split.train.size() == 7);
  REQUIRE(split.validation.size() == 3);

  RandomState same(42);
  const std::vector<Index> perm = same.permutation(10);
  CHECK(std::equal(split.train.begin(), split.train.end(), perm.begin()));
  CHECK(std::equal(split.validation.begin(), split.validation.end(), perm.begin() + 7));

  std::vector<Index> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  std::vector<Index> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(all == expected);

  CHECK_THROWS_AS(random_split(5, 6, rng), std::invalid_argument);
  CHECK(random_split(5, 0, rng).validation.empty());
}

TEST_CASE("random_split equals numpy's RandomState(seed).permutation split") {
  TempDir dir;
  const std::string out = run_python_ok(dir, R"(
perm = np.random.RandomState(2024).permutation(1000)
print(*perm[:900], *perm[900:])
)");
  const std::vector<long long> numpy_perm = parse_ints(out);
  REQUIRE(numpy_perm.size() == 1000);
  RandomState rng(2024);
  const Split split = random_split(1000, 100, rng);
  for (std::size_t i = 0; i < 900; ++i) REQUIRE(split.train[i] == numpy_perm[i]);
  for (std::size_t i = 0; i < 100; ++i) REQUIRE(split.validation[i] == numpy_perm[900 + i]);
}

TEST_CASE("subset copies the chosen samples in order") {
  ImageSet set;
  set.rows = 1;
  set.cols = 2;
  set.pixels.resize(3, 2);
  set.pixels << 1, 2, 3, 4, 5, 6;
  set.labels.resize(3);
  set.labels << 7, 8, 9;
  set.images_path = "images";
  const ImageSet sub = subset(set, {2, 0});
  REQUIRE(sub.size() == 2);
  CHECK(sub.pixels(0, 1) == 6);
  CHECK(sub.pixels(1, 0) == 1);
  CHECK(sub.labels(0) == 9);
  CHECK(sub.labels(1) == 7);
  CHECK(sub.images_path == "images");
  CHECK_THROWS_AS(subset(set, {3}), std::out_of_range);
}

// The real datasets: MNIST from $EIGENNET_MNIST_DIR and Debian's Fashion-MNIST. Missing data
// fails the test with the place it looked: a silent pass would hide a broken setup.
#include <doctest/doctest.h>

#include <cstdlib>

#include "eigennet/data/mnist.hpp"
#include "eigennet/data/preprocess.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

std::string mnist_dir() {
  const char* env = std::getenv("EIGENNET_MNIST_DIR");
  REQUIRE_MESSAGE(env != nullptr, "EIGENNET_MNIST_DIR is not set; run through `meson test`, which "
                                  "points it at ../shared/data/mnist");
  REQUIRE_MESSAGE(fs::is_directory(env), "EIGENNET_MNIST_DIR=" << env << " is not a folder");
  return env;
}

void check_shapes(const MnistData& data) {
  CHECK(data.train.size() == 60000);
  CHECK(data.test.size() == 10000);
  CHECK(data.train.rows == 28);
  CHECK(data.train.cols == 28);
  CHECK(data.test.rows == 28);
  CHECK(data.train.pixels.cols() == 784);
  CHECK(data.train.labels.size() == 60000);
  CHECK(data.test.labels.size() == 10000);
  CHECK(data.train.labels.minCoeff() == 0);
  CHECK(data.train.labels.maxCoeff() == 9);
  CHECK_NOTHROW(require_image_size(data.train, 28, 28, "test"));
}

}  // namespace

TEST_CASE("MNIST loads: 60000/10000 images of 28×28, first labels 5 0 4 1 9 2 1 3 1 4") {
  const MnistData data = load_mnist(mnist_dir());
  check_shapes(data);
  const int expected[] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  for (int i = 0; i < 10; ++i) CHECK(data.train.labels(i) == expected[i]);
  CHECK(data.test.labels(0) == 7);  // the first t10k digit is a 7

  SUBCASE("whole-set statistics of pixel/255: mean 0.1307, std 0.3081 (train)") {
    Matrix<float> x = to_unit_scale<float>(data.train.pixels);
    const Normalization n = compute_normalization<float>(x);
    CHECK(n.mean == doctest::Approx(0.1307).epsilon(5e-4));
    CHECK(n.std == doctest::Approx(0.3081).epsilon(5e-4));
    // numpy: f = x.astype(np.float32) / 255; f.mean(dtype=np.float64), f.std(dtype=np.float64)
    CHECK(std::abs(n.mean - 0.13066047740240996) < 1e-10);
    CHECK(std::abs(n.std - 0.3081078055271016) < 1e-10);
    // numpy: (x / 255).mean(), .std() in float64
    const Normalization n64 = compute_normalization<double>(to_unit_scale<double>(data.train.pixels));
    CHECK(std::abs(n64.mean - 0.1306604762738429) < 1e-10);
    CHECK(std::abs(n64.std - 0.3081078038564622) < 1e-10);

    const Normalization used = normalize_whole_set<float>(x);
    CHECK(used.mean == n.mean);
    const Normalization after = compute_normalization<float>(x);
    CHECK(std::abs(after.mean) < 1e-5);
    CHECK(std::abs(after.std - 1.0) < 1e-5);

    // The test set gets its own statistics.
    Matrix<double> t = to_unit_scale<double>(data.test.pixels);
    const Normalization test_stats = normalize_whole_set<double>(t);
    CHECK(test_stats.mean == doctest::Approx(0.1325).epsilon(1e-3));
    CHECK(test_stats.std == doctest::Approx(0.3105).epsilon(1e-3));
    CHECK(std::abs(test_stats.mean - n.mean) > 1e-3);
  }
}

TEST_CASE("Fashion-MNIST (Debian dataset-fashion-mnist) loads the same way") {
  REQUIRE_MESSAGE(fs::is_directory(kFashionDir),
                  kFashionDir << " is missing: apt-get install dataset-fashion-mnist");
  const MnistData data = load_mnist(kFashionDir);
  check_shapes(data);
  const int expected[] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};  // ankle boot, T-shirt, T-shirt, dress, ...
  for (int i = 0; i < 10; ++i) CHECK(data.train.labels(i) == expected[i]);
  const MnistDirSearch search = find_mnist_dir({"/nonexistent-eigennet-dir", kFashionDir});
  CHECK(search.directory == kFashionDir);
}

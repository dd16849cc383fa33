// The real datasets. Each known dataset (MNIST, Debian's Fashion-MNIST) is held to facts about
// it: sizes, its first labels, its pixel statistics as numpy computes them. The dataset the tests
// find (tests/support/dataset.hpp: $EIGENNET_MNIST_DIR, the default MNIST folders, else
// Fashion-MNIST) is checked against its own facts; Fashion-MNIST is checked always (the
// quickstart installs it). A missing dataset fails the test with the folders searched.
#include <doctest/doctest.h>

#include <cstdlib>

#include "eigennet/data/mnist.hpp"
#include "eigennet/data/preprocess.hpp"
#include "support/dataset.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

// What numpy says of a dataset (the values in the comments' expressions, printed with repr()).
struct DatasetFacts {
  int first_train_labels[10];
  int first_test_label;
  double mean32, std32;  // f = x.astype(np.float32) / 255; f.mean(dtype=np.float64), f.std(dtype=np.float64)
  double mean64, std64;  // (x / 255).mean(), (x / 255).std() in float64
  double test_mean, test_std;  // the same of the test images, float64
};

const DatasetFacts kMnistFacts{{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, 7,
                               0.13066047740240996, 0.3081078055271016,
                               0.1306604762738429, 0.3081078038564622,
                               0.13251460584233699, 0.3104802479305348};
// T-shirt 0, trouser 1, pullover 2, dress 3, coat 4, sandal 5, shirt 6, sneaker 7, bag 8, ankle boot 9.
const DatasetFacts kFashionFacts{{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 9,
                                 0.2860406021939525, 0.3530242495426238,
                                 0.2860405969887955, 0.35302424451492237,
                                 0.2868492807122849, 0.35244415324744005};

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

void check_facts(const MnistData& data, const DatasetFacts& facts) {
  check_shapes(data);
  for (int i = 0; i < 10; ++i) CHECK(data.train.labels(i) == facts.first_train_labels[i]);
  CHECK(data.test.labels(0) == facts.first_test_label);

  Matrix<float> x = to_unit_scale<float>(data.train.pixels);
  const Normalization n = compute_normalization<float>(x);
  CHECK(std::abs(n.mean - facts.mean32) < 1e-10);
  CHECK(std::abs(n.std - facts.std32) < 1e-10);
  const Normalization n64 = compute_normalization<double>(to_unit_scale<double>(data.train.pixels));
  CHECK(std::abs(n64.mean - facts.mean64) < 1e-10);
  CHECK(std::abs(n64.std - facts.std64) < 1e-10);

  const Normalization used = normalize_whole_set<float>(x);
  CHECK(used.mean == n.mean);
  const Normalization after = compute_normalization<float>(x);
  CHECK(std::abs(after.mean) < 1e-5);
  CHECK(std::abs(after.std - 1.0) < 1e-5);

  // The test set gets its own statistics.
  Matrix<double> t = to_unit_scale<double>(data.test.pixels);
  const Normalization test_stats = normalize_whole_set<double>(t);
  CHECK(std::abs(test_stats.mean - facts.test_mean) < 1e-10);
  CHECK(std::abs(test_stats.std - facts.test_std) < 1e-10);
  CHECK(std::abs(test_stats.mean - n.mean) > 1e-4);
}

}  // namespace

TEST_CASE("the dataset found loads: 60000/10000 images of 28×28, its first labels and pixel statistics") {
  const FoundDataset& found = test_dataset();
  CHECK(identify_dataset(found.data) == found.kind);
  switch (found.kind) {
    case DatasetKind::Mnist: check_facts(found.data, kMnistFacts); break;
    case DatasetKind::FashionMnist: check_facts(found.data, kFashionFacts); break;
    case DatasetKind::Other:
      skip(found.description + " is neither MNIST nor Fashion-MNIST: no facts to check it against "
           "(point EIGENNET_MNIST_DIR at the canonical MNIST files)");
      break;
  }
}

TEST_CASE("Fashion-MNIST (Debian dataset-fashion-mnist) loads the same way, with its own facts") {
  REQUIRE_MESSAGE(fs::is_directory(kFashionMnistDir),
                  kFashionMnistDir << " is missing: apt-get install dataset-fashion-mnist");
  const MnistData data = load_mnist(kFashionMnistDir);
  CHECK(identify_dataset(data) == DatasetKind::FashionMnist);
  check_facts(data, kFashionFacts);
  const MnistDirSearch search = find_mnist_dir({"/nonexistent-eigennet-dir", kFashionMnistDir});
  CHECK(search.directory == kFashionMnistDir);
}

TEST_CASE("identify_dataset: a dataset of another size or other first labels is Other") {
  MnistData data = load_mnist(kFashionMnistDir);
  REQUIRE(identify_dataset(data) == DatasetKind::FashionMnist);
  data.train.labels(0) = 5;
  CHECK(identify_dataset(data) == DatasetKind::Other);
  for (int i = 0; i < 10; ++i) data.train.labels(i) = kMnistFacts.first_train_labels[i];
  CHECK(identify_dataset(data) == DatasetKind::Mnist);
  data.test.pixels.conservativeResize(9999, Eigen::NoChange);
  data.test.labels.conservativeResize(9999);
  CHECK(identify_dataset(data) == DatasetKind::Other);
  CHECK(std::string(dataset_kind_name(DatasetKind::Other)) == "MNIST-format data");
}

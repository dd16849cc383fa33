// A short training run on the dataset the tests find (tests/support/dataset.hpp): three epochs
// of the practical's MLP must reach an accuracy that a broken trainer cannot, with the plain loop
// and data-parallel on two threads. The bar is a fact about each dataset, measured here
// (float, seed 0, one core, about 1.5 s of training):
//   MNIST          96.13% (data-parallel: 96.11%)       bar 95%
//   Fashion-MNIST  85.68% (data-parallel: 85.88%)       bar 84%
// On MNIST-format data of no known kind the accuracy bar is skipped (exit 77); the rest runs.
#include <doctest/doctest.h>

#include "eigennet/data/batching.hpp"
#include "eigennet/data/mnist.hpp"
#include "eigennet/data/preprocess.hpp"
#include "eigennet/eigennet.hpp"
#include "eigennet/train/train.hpp"
#include "support/dataset.hpp"

using namespace eigennet;

TEST_CASE("three epochs of 784→64→32→10 (SGD lr 0.05, batch 100) reach the dataset's bar (MNIST ≥ 95%)") {
  const FoundDataset& found = eigennet_test::test_dataset();
  const MnistData& data = found.data;
  Matrix<float> train_x = to_unit_scale<float>(data.train.pixels), test_x = to_unit_scale<float>(data.test.pixels);
  normalize_fixed<float>(train_x);
  normalize_fixed<float>(test_x);

  set_thread_count(1);
  // The plain loop, and the same on two DataParallel replicas (the same training up to the
  // order of float sums).
  const auto train = [&](int data_parallel) {
    RandomState rng(0);
    Network<float> net;
    const InitOptions torch_init{InitScheme::TorchDefault, 0, 0};
    initialize(net.emplace<Dense<float>>(784, 64), rng, torch_init);
    net.emplace<Relu<float>>(64);
    initialize(net.emplace<Dense<float>>(64, 32), rng, torch_init);
    net.emplace<Relu<float>>(32);
    initialize(net.emplace<Dense<float>>(32, 10), rng, torch_init);
    const SoftmaxCrossEntropy<float> loss;
    Sgd<float> sgd(net.parameters(), 0.01);
    BatchSampler sampler(data.train.size(), 100, BatchRule::ShuffledEpochs, rng);

    EpochOptions o;
    o.epochs = 3;
    o.batches_per_epoch = sampler.batches_per_epoch();
    o.batch_size = 100;
    o.learning_rate = 0.05;
    o.data_parallel = data_parallel;
    return train_epochs<float>(net, loss, sgd, [&]() -> const std::vector<Index>& { return sampler.next(); },
                               {train_x, data.train.labels}, {}, {test_x, data.test.labels}, o);
  };
  for (int data_parallel : {1, 2}) {
    CAPTURE(data_parallel);
    const TrainingHistory h = train(data_parallel);
    MESSAGE(std::string(dataset_kind_name(found.kind)) << ", three epochs (data_parallel " << data_parallel << "): test accuracy " << 100 * h.final_test_accuracy()
                                           << "%, mean loss " << h.epoch_loss.back());
    CHECK(h.steps() == 3 * ((data.train.size() + 99) / 100));
    switch (found.kind) {
      case DatasetKind::Mnist: CHECK(h.final_test_accuracy() >= 0.95); break;
      case DatasetKind::FashionMnist: CHECK(h.final_test_accuracy() >= 0.84); break;
      case DatasetKind::Other:
        eigennet_test::skip("no accuracy bar for " + found.description + " (MNIST's is 95%, Fashion-MNIST's 84%)");
        break;
    }
    CHECK(h.loss.back() < h.loss.front());
  }
}

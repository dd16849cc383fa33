// The dataset the tests train and compare on, found as train-mnist finds it (find_dataset):
// $EIGENNET_MNIST_DIR, the default MNIST folders, else Debian's Fashion-MNIST. Each test says
// in its log which one it ran on. Checks that are facts about one dataset (an accuracy, the
// first labels) look up its kind; on data of no known kind they are skipped (skip.hpp).
#pragma once

#include <doctest/doctest.h>

#include <exception>

#include "eigennet/data/mnist.hpp"
#include "support/skip.hpp"

namespace eigennet_test {

// Loaded once per test executable; the test fails (with the folders searched) if none is found.
inline const eigennet::FoundDataset& test_dataset() {
  static const eigennet::FoundDataset found = [] {
    try {
      return eigennet::find_dataset();
    } catch (const std::exception& e) {
      FAIL("no dataset for the tests: " << e.what());
      throw;
    }
  }();
  MESSAGE("dataset: " << found.description);
  return found;
}

}  // namespace eigennet_test

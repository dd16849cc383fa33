// A small MNIST-format dataset for the tools under test: the four gzip IDX files with n_train and
// n_test random images of rows × cols (pixels from RandomState(7)) and labels 0, 1, …, 9, 0, ….
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "eigennet/data/idx.hpp"
#include "eigennet/random.hpp"

namespace eigennet_test {

inline void write_mnist_files(const std::string& dir, eigennet::Index n_train, eigennet::Index n_test,
                              eigennet::Index rows, eigennet::Index cols) {
  std::filesystem::create_directories(dir);
  eigennet::RandomState rng(7);
  auto write_set = [&](const std::string& prefix, eigennet::Index n) {
    std::vector<std::uint8_t> pixels(std::size_t(n * rows * cols));
    std::vector<std::uint8_t> labels(static_cast<std::size_t>(n));
    for (auto& p : pixels) p = std::uint8_t(rng.randint(0, 256));
    for (eigennet::Index i = 0; i < n; ++i) labels[std::size_t(i)] = std::uint8_t(i % 10);
    eigennet::write_idx_ubyte(dir + "/" + prefix + "-images-idx3-ubyte.gz", {n, rows, cols}, pixels, true);
    eigennet::write_idx_ubyte(dir + "/" + prefix + "-labels-idx1-ubyte.gz", {n}, labels, true);
  };
  write_set("train", n_train);
  write_set("t10k", n_test);
}

}  // namespace eigennet_test

// MNIST-format datasets: MNIST, Fashion-MNIST and anything else with the same four IDX files.
#pragma once

#include <string>
#include <vector>

#include "eigennet/data/idx.hpp"

namespace eigennet {

// One split of an image dataset.
struct ImageSet {
  PixelMatrix pixels;  // N × (rows*cols), one image per row, bytes as in the file
  Labels labels;       // N
  Index rows = 0;      // image height
  Index cols = 0;      // image width
  std::string images_path;
  std::string labels_path;

  Index size() const { return pixels.rows(); }
};

struct MnistData {
  ImageSet train;
  ImageSet test;
  std::string directory;  // the folder the four files were found in
};

// Reads an image file and its label file; checks that they hold the same number of samples
// and that every label lies in 0..num_classes-1 (errors name the file, index and value).
ImageSet load_image_set(const std::string& images_path, const std::string& labels_path,
                        int num_classes = 10);

// The folder under `dir` that holds the MNIST files, trying in order: dir, dir/MNIST/raw,
// dir/FashionMNIST/raw, dir/raw (the last three are torchvision's layouts). A folder counts
// when it holds all four standard files, each as NAME or NAME.gz. Empty string if none does.
std::string find_mnist_files_dir(const std::string& dir);

// Path of NAME or NAME.gz in `folder` (the uncompressed file first: faster to read);
// empty if neither exists.
std::string find_idx_file(const std::string& folder, const std::string& name);

// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte (each with or without .gz) from `dir` or a torchvision layout
// under it (see find_mnist_files_dir). The error for a missing dataset lists every folder
// searched and the file names expected. Fashion-MNIST loads the same way.
MnistData load_mnist(const std::string& dir);

// Result of find_mnist_dir: which candidate folders exist and which holds the files.
struct MnistDirSearch {
  struct Candidate {
    std::string path;
    bool exists = false;     // the folder exists
    bool has_files = false;  // load_mnist(path) would find all four files
  };
  std::vector<Candidate> candidates;  // in the order tried
  std::string directory;              // first candidate with the files; empty if none

  bool found() const { return !directory.empty(); }
  // One line per candidate: "  /path: exists, has the MNIST files" / "missing" / ...
  std::string report() const;
};

// Candidate folders, in order: $EIGENNET_MNIST_DIR (if set), data/mnist,
// /usr/share/datasets/mnist, $HOME/.cache/mnist, data (torchvision's root).
std::vector<std::string> default_mnist_candidates();

// Tries each folder in order and records which exist and which hold the files.
MnistDirSearch find_mnist_dir(const std::vector<std::string>& candidates = default_mnist_candidates());

// For recipes with a fixed input shape: throws DataError
//   "<what>: expects 28×28 images, <images_path> has 32×32"
// unless the set's images are rows × cols.
void require_image_size(const ImageSet& set, Index rows, Index cols, const std::string& what);

}  // namespace eigennet

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

// Debian's Fashion-MNIST (package dataset-fashion-mnist): the offline fallback.
inline const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Which known dataset a loaded MnistData is, told by its contents: 60000/10000 images of
// 28×28 whose first ten training labels are MNIST's (5 0 4 1 9 2 1 3 1 4) or Fashion-MNIST's
// (9 0 0 3 0 2 7 2 5 5). Anything else is Other. Thresholds that are facts about one dataset
// (an accuracy it reaches, its pixel statistics) hold only for its kind.
enum class DatasetKind { Mnist, FashionMnist, Other };
DatasetKind identify_dataset(const MnistData& data);
const char* dataset_kind_name(DatasetKind kind);  // "MNIST", "Fashion-MNIST", "MNIST-format data"

// The dataset the tools (and the tests) train on, and a line saying what and where it is.
struct FoundDataset {
  MnistData data;
  DatasetKind kind = DatasetKind::Other;
  std::string description;  // e.g. "MNIST from /data/mnist", "Fashion-MNIST from ... (no MNIST found; ...)"
};

// `data_dir` when given (--data); else the first default MNIST folder with the files
// (find_mnist_dir()); else Fashion-MNIST from kFashionMnistDir. Throws DataError naming every
// folder searched when none has the files.
FoundDataset find_dataset(const std::string& data_dir = "");

// For recipes with a fixed input shape: throws DataError
//   "<what>: expects 28×28 images, <images_path> has 32×32"
// unless the set's images are rows × cols.
void require_image_size(const ImageSet& set, Index rows, Index cols, const std::string& what);

}  // namespace eigennet

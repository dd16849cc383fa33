// Locating and loading the four IDX files of an MNIST-format dataset.
#include "eigennet/data/mnist.hpp"

#include <cstdlib>
#include <filesystem>

namespace eigennet {
namespace {

namespace fs = std::filesystem;

const char* const kFileNames[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool has_all_files(const std::string& folder) {
  for (const char* name : kFileNames)
    if (find_idx_file(folder, name).empty()) return false;
  return true;
}

std::vector<std::string> layouts(const std::string& dir) {
  return {dir, (fs::path(dir) / "MNIST" / "raw").string(),
          (fs::path(dir) / "FashionMNIST" / "raw").string(), (fs::path(dir) / "raw").string()};
}

}  // namespace

ImageSet load_image_set(const std::string& images_path, const std::string& labels_path,
                        int num_classes) {
  ImageSet set;
  IdxImages images = read_idx_images(images_path);
  set.labels = read_idx_labels(labels_path);
  set.pixels = std::move(images.pixels);
  set.rows = images.rows;
  set.cols = images.cols;
  set.images_path = images_path;
  set.labels_path = labels_path;

  if (set.labels.size() != set.pixels.rows())
    throw DataError(labels_path + ": has " + std::to_string(set.labels.size()) +
                    " labels, but " + images_path + " has " + std::to_string(set.pixels.rows()) +
                    " images; expected one label per image");
  for (Index i = 0; i < set.labels.size(); ++i)
    if (set.labels(i) < 0 || set.labels(i) >= num_classes)
      throw DataError(labels_path + ": label " + std::to_string(set.labels(i)) + " at index " +
                      std::to_string(i) + " is outside the expected range 0.." +
                      std::to_string(num_classes - 1));
  return set;
}

std::string find_idx_file(const std::string& folder, const std::string& name) {
  const fs::path raw = fs::path(folder) / name;
  if (is_file(raw)) return raw.string();
  const fs::path gz = fs::path(folder) / (name + ".gz");
  if (is_file(gz)) return gz.string();
  return "";
}

std::string find_mnist_files_dir(const std::string& dir) {
  for (const std::string& folder : layouts(dir))
    if (has_all_files(folder)) return folder;
  return "";
}

MnistData load_mnist(const std::string& dir) {
  const std::string folder = find_mnist_files_dir(dir);
  if (folder.empty()) {
    std::string message = dir + ": no MNIST-format dataset found; expected the files";
    for (const char* name : kFileNames) message += std::string(" ") + name + "[.gz]";
    message += " in one of:";
    for (const std::string& candidate : layouts(dir)) {
      message += "\n  " + candidate + (is_dir(candidate) ? " (exists; missing:" : " (no such folder)");
      if (is_dir(candidate)) {
        for (const char* name : kFileNames)
          if (find_idx_file(candidate, name).empty()) message += std::string(" ") + name;
        message += ")";
      }
    }
    throw DataError(message);
  }
  MnistData data;
  data.directory = folder;
  data.train = load_image_set(find_idx_file(folder, kFileNames[0]), find_idx_file(folder, kFileNames[1]));
  data.test = load_image_set(find_idx_file(folder, kFileNames[2]), find_idx_file(folder, kFileNames[3]));
  if (data.train.rows != data.test.rows || data.train.cols != data.test.cols)
    throw DataError(data.test.images_path + ": images are " + shape_string(data.test.rows, data.test.cols) +
                    ", but the training images " + data.train.images_path + " are " +
                    shape_string(data.train.rows, data.train.cols));
  return data;
}

std::string MnistDirSearch::report() const {
  std::string text;
  for (const Candidate& c : candidates) {
    text += "  " + c.path + ": ";
    text += !c.exists ? "missing" : c.has_files ? "exists, has the MNIST files" : "exists, no MNIST files";
    text += "\n";
  }
  return text;
}

std::vector<std::string> default_mnist_candidates() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("EIGENNET_MNIST_DIR"); env != nullptr && *env != '\0')
    dirs.emplace_back(env);
  dirs.emplace_back("data/mnist");
  dirs.emplace_back("/usr/share/datasets/mnist");
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    dirs.push_back((fs::path(home) / ".cache" / "mnist").string());
  dirs.emplace_back("data");
  return dirs;
}

MnistDirSearch find_mnist_dir(const std::vector<std::string>& candidates) {
  MnistDirSearch search;
  for (const std::string& path : candidates) {
    MnistDirSearch::Candidate c;
    c.path = path;
    c.exists = is_dir(path);
    c.has_files = c.exists && !find_mnist_files_dir(path).empty();
    if (c.has_files && search.directory.empty()) search.directory = path;
    search.candidates.push_back(c);
  }
  return search;
}

DatasetKind identify_dataset(const MnistData& data) {
  static const int kMnistFirst[] = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  static const int kFashionFirst[] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  const auto starts_with = [&](const int (&first)[10]) {
    for (int i = 0; i < 10; ++i)
      if (data.train.labels(i) != first[i]) return false;
    return true;
  };
  if (data.train.size() != 60000 || data.test.size() != 10000 || data.train.rows != 28 || data.train.cols != 28)
    return DatasetKind::Other;
  if (starts_with(kMnistFirst)) return DatasetKind::Mnist;
  if (starts_with(kFashionFirst)) return DatasetKind::FashionMnist;
  return DatasetKind::Other;
}

const char* dataset_kind_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::Mnist: return "MNIST";
    case DatasetKind::FashionMnist: return "Fashion-MNIST";
    case DatasetKind::Other: break;
  }
  return "MNIST-format data";
}

FoundDataset find_dataset(const std::string& data_dir) {
  FoundDataset found;
  std::string how;
  if (!data_dir.empty()) {
    found.data = load_mnist(data_dir);
    how = " (--data)";
  } else if (const MnistDirSearch search = find_mnist_dir(); search.found()) {
    found.data = load_mnist(search.directory);
  } else if (!find_mnist_files_dir(kFashionMnistDir).empty()) {
    found.data = load_mnist(kFashionMnistDir);
    how = " (no MNIST found; give it with --data DIR or $EIGENNET_MNIST_DIR)";
  } else {
    throw DataError("no dataset found. MNIST was looked for in:\n" + search.report() + "  and Fashion-MNIST in " +
                    kFashionMnistDir + ".\nGive a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may end in .gz) with --data DIR, "
                    "or install Fashion-MNIST: apt-get install dataset-fashion-mnist");
  }
  found.kind = identify_dataset(found.data);
  found.description = std::string(dataset_kind_name(found.kind)) + " from " + found.data.directory + how;
  return found;
}

void require_image_size(const ImageSet& set, Index rows, Index cols, const std::string& what) {
  if (set.rows != rows || set.cols != cols)
    throw DataError(what + ": expects " + shape_string(rows, cols) + " images, " + set.images_path +
                    " has " + shape_string(set.rows, set.cols));
}

}  // namespace eigennet

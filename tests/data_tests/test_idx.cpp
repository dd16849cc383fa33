// IDX reading and MNIST-format folder loading, on small files made here (gzip and raw).
#include <doctest/doctest.h>

#include "eigennet/data/idx.hpp"
#include "eigennet/data/mnist.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

// 3 images of 2×2: pixel values 0..11.
std::vector<std::uint8_t> pixels12() {
  std::vector<std::uint8_t> p(12);
  for (int i = 0; i < 12; ++i) p[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i * 20);
  return p;
}

// Writes the four MNIST files (3 train and 2 test images of 2×2) into `folder`.
void write_tiny_mnist(const fs::path& folder, bool gzip) {
  fs::create_directories(folder);
  const std::string ext = gzip ? ".gz" : "";
  auto put = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    if (gzip)
      write_gzip((folder / (name + ext)).string(), bytes);
    else
      write_bytes((folder / name).string(), bytes);
  };
  put("train-images-idx3-ubyte", idx_bytes({3, 2, 2}, pixels12()));
  put("train-labels-idx1-ubyte", idx_bytes({3}, {7, 0, 9}));
  put("t10k-images-idx3-ubyte", idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  put("t10k-labels-idx1-ubyte", idx_bytes({2}, {3, 4}));
}

}  // namespace

TEST_CASE("IDX images and labels read the same from raw and gzip files") {
  TempDir dir;
  for (bool gzip : {false, true}) {
    CAPTURE(gzip);
    const std::string images = dir.file(gzip ? "img.gz" : "img");
    const std::string labels = dir.file(gzip ? "lab.gz" : "lab");
    if (gzip) {
      write_gzip(images, idx_bytes({3, 2, 2}, pixels12()));
      write_gzip(labels, idx_bytes({3}, {7, 0, 9}));
    } else {
      write_bytes(images, idx_bytes({3, 2, 2}, pixels12()));
      write_bytes(labels, idx_bytes({3}, {7, 0, 9}));
    }
    const IdxImages im = read_idx_images(images);
    CHECK(im.rows == 2);
    CHECK(im.cols == 2);
    REQUIRE(im.pixels.rows() == 3);
    REQUIRE(im.pixels.cols() == 4);
    CHECK(im.pixels(0, 0) == 0);
    CHECK(im.pixels(1, 2) == 6 * 20);  // image 1, row 1, col 0
    CHECK(im.pixels(2, 3) == 11 * 20);
    const Labels lab = read_idx_labels(labels);
    REQUIRE(lab.size() == 3);
    CHECK(lab(0) == 7);
    CHECK(lab(1) == 0);
    CHECK(lab(2) == 9);
  }
}

TEST_CASE("read_idx reads other element types and write_idx_ubyte round-trips") {
  TempDir dir;
  write_bytes(dir.file("floats"), idx_bytes({2}, {0x3F, 0x80, 0, 0, 0x40, 0, 0, 0}, 0x0D));
  const IdxArray a = read_idx(dir.file("floats"));
  CHECK(a.type == IdxType::Float);
  CHECK(a.dims == std::vector<Index>{2});
  CHECK(a.bytes.size() == 8);

  for (bool gzip : {false, true}) {
    const std::string path = dir.file(gzip ? "w.gz" : "w");
    write_idx_ubyte(path, {3, 2, 2}, pixels12(), gzip);
    const std::vector<std::uint8_t> bytes = read_bytes(path);
    if (gzip)
      CHECK((bytes.size() > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b));  // gzip magic
    else
      CHECK(bytes.size() == 16 + 12);  // magic + 3 dimensions + payload
    const IdxImages im = read_idx_images(path);
    CHECK(im.pixels(2, 3) == 11 * 20);
  }
}

TEST_CASE("IDX errors name the file and what was found") {
  TempDir dir;

  SUBCASE("missing file") {
    const std::string path = dir.file("nothing-here-idx3-ubyte.gz");
    const std::string msg = message_of<DataError>([&] { read_idx_images(path); });
    INFO(msg);
    CHECK(contains(msg, path));
    CHECK(contains(msg, "not found"));
  }
  SUBCASE("a folder instead of a file") {
    const std::string msg = message_of<DataError>([&] { read_idx_images(dir.path().string()); });
    INFO(msg);
    CHECK(contains(msg, dir.path().string()));
    CHECK(contains(msg, "directory"));
  }
  SUBCASE("wrong magic: a label file where images are expected, and back") {
    const std::string labels = dir.file("t10k-labels-idx1-ubyte.gz");
    const std::string images = dir.file("t10k-images-idx3-ubyte.gz");
    write_gzip(labels, idx_bytes({3}, {1, 2, 3}));
    write_gzip(images, idx_bytes({3, 2, 2}, pixels12()));
    std::string msg = message_of<DataError>([&] { read_idx_images(labels); });
    INFO(msg);
    CHECK(contains(msg, labels + ": wrong magic number 0x00000801"));
    CHECK(contains(msg, "expected 0x00000803 (IDX images, unsigned byte)"));
    msg = message_of<DataError>([&] { read_idx_labels(images); });
    CHECK(contains(msg, images + ": wrong magic number 0x00000803, expected 0x00000801 (IDX labels, unsigned byte)"));
    CHECK(contains(msg, "the file holds a 3-D unsigned byte array"));
  }
  SUBCASE("not an IDX file at all") {
    const std::string path = dir.file("notes.txt");
    write_bytes(path, {'h', 'e', 'l', 'l', 'o', '\n'});
    std::string msg = message_of<DataError>([&] { read_idx_labels(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": wrong magic number 0x68656C6C"));
    CHECK(contains(msg, "the file holds no IDX header"));
    msg = message_of<DataError>([&] { read_idx(path); });
    CHECK(contains(msg, path + ": bad magic number 0x68656C6C"));
  }
  SUBCASE("file shorter than the magic number") {
    const std::string path = dir.file("short");
    write_bytes(path, {0, 0});
    const std::string msg = message_of<DataError>([&] { read_idx(path); });
    INFO(msg);
    CHECK(contains(msg, path));
    CHECK(contains(msg, "found 2 bytes"));
  }
  SUBCASE("truncated header") {
    const std::string path = dir.file("header");
    write_bytes(path, {0, 0, 8, 3, 0, 0, 0, 3, 0, 0});
    const std::string msg = message_of<DataError>([&] { read_idx_images(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": truncated header"));
    CHECK(contains(msg, "expected 3 dimension sizes (12 bytes), found 6 bytes"));
  }
  SUBCASE("truncated data, raw and gzip") {
    std::vector<std::uint8_t> bytes = idx_bytes({3, 2, 2}, pixels12());
    bytes.resize(bytes.size() - 5);  // 7 of 12 payload bytes
    for (bool gzip : {false, true}) {
      const std::string path = dir.file(gzip ? "trunc.gz" : "trunc");
      gzip ? write_gzip(path, bytes) : write_bytes(path, bytes);
      const std::string msg = message_of<DataError>([&] { read_idx_images(path); });
      INFO(msg);
      CHECK(contains(msg, path + ": truncated data"));
      CHECK(contains(msg, "header says shape 3×2×2 (unsigned byte)"));
      CHECK(contains(msg, "expected 12 bytes of data, found 7 bytes"));
    }
  }
  SUBCASE("a gzip file cut short reads as truncated") {
    const std::string full = dir.file("full.gz");
    std::vector<std::uint8_t> payload(5000);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>((i * 7919) % 251);
    write_gzip(full, idx_bytes({5000}, payload));
    std::vector<std::uint8_t> gz = read_bytes(full);
    gz.resize(gz.size() / 2);
    const std::string path = dir.file("cut.gz");
    write_bytes(path, gz);
    const std::string msg = message_of<DataError>([&] { read_idx_labels(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": truncated data"));
    CHECK(contains(msg, "expected 5000 bytes of data, found "));
  }
  SUBCASE("corrupt gzip data") {
    const std::string full = dir.file("full.gz");
    write_gzip(full, idx_bytes({3, 2, 2}, pixels12()));
    std::vector<std::uint8_t> gz = read_bytes(full);
    gz[gz.size() - 6] ^= 0xFF;  // inside the CRC-32 of the gzip trailer
    const std::string path = dir.file("bad.gz");
    write_bytes(path, gz);
    const std::string msg = message_of<DataError>([&] { read_idx_images(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": corrupt gzip data"));
  }
  SUBCASE("trailing bytes after the data") {
    std::vector<std::uint8_t> bytes = idx_bytes({3}, {1, 2, 3});
    bytes.insert(bytes.end(), {9, 9});
    for (bool gzip : {false, true}) {
      const std::string path = dir.file(gzip ? "long.gz" : "long");
      gzip ? write_gzip(path, bytes) : write_bytes(path, bytes);
      const std::string msg = message_of<DataError>([&] { read_idx_labels(path); });
      INFO(msg);
      CHECK(contains(msg, path + ": 2 unexpected bytes after the data"));
      CHECK(contains(msg, "expected 3 bytes of data, found 5 bytes"));
    }
  }
}

TEST_CASE("load_image_set checks counts and label range") {
  TempDir dir;
  const std::string images = dir.file("train-images-idx3-ubyte");
  const std::string labels = dir.file("train-labels-idx1-ubyte.gz");
  write_bytes(images, idx_bytes({3, 2, 2}, pixels12()));

  SUBCASE("image/label count mismatch") {
    write_gzip(labels, idx_bytes({2}, {1, 2}));
    const std::string msg = message_of<DataError>([&] { load_image_set(images, labels); });
    INFO(msg);
    CHECK(contains(msg, labels + ": has 2 labels"));
    CHECK(contains(msg, images + " has 3 images"));
  }
  SUBCASE("label out of range") {
    write_gzip(labels, idx_bytes({3}, {1, 10, 2}));
    const std::string msg = message_of<DataError>([&] { load_image_set(images, labels); });
    INFO(msg);
    CHECK(contains(msg, labels + ": label 10 at index 1 is outside the expected range 0..9"));
  }
  SUBCASE("consistent files load") {
    write_gzip(labels, idx_bytes({3}, {1, 9, 2}));
    const ImageSet set = load_image_set(images, labels);
    CHECK(set.size() == 3);
    CHECK(set.rows == 2);
    CHECK(set.cols == 2);
    CHECK(set.images_path == images);
    CHECK(set.labels_path == labels);
    CHECK(set.labels(1) == 9);
  }
}

TEST_CASE("require_image_size names the recipe, the file and both sizes") {
  TempDir dir;
  write_tiny_mnist(dir.path(), false);
  const MnistData data = load_mnist(dir.path().string());
  CHECK_NOTHROW(require_image_size(data.train, 2, 2, "test recipe"));
  const std::string msg = message_of<DataError>([&] { require_image_size(data.train, 28, 28, "mlp recipe"); });
  INFO(msg);
  CHECK(contains(msg, "mlp recipe: expects 28×28 images, " + data.train.images_path + " has 2×2"));
}

TEST_CASE("load_mnist finds the files directly, in torchvision layouts, gzip or raw") {
  TempDir dir;
  SUBCASE("flat gzip") {
    write_tiny_mnist(dir.path(), true);
    const MnistData data = load_mnist(dir.path().string());
    CHECK(data.directory == dir.path().string());
    CHECK(contains(data.train.images_path, "train-images-idx3-ubyte.gz"));
  }
  SUBCASE("dir/MNIST/raw, raw files") {
    write_tiny_mnist(dir.path() / "MNIST" / "raw", false);
    const MnistData data = load_mnist(dir.path().string());
    CHECK(data.directory == (dir.path() / "MNIST" / "raw").string());
  }
  SUBCASE("dir/raw") {
    write_tiny_mnist(dir.path() / "raw", true);
    const MnistData data = load_mnist(dir.path().string());
    CHECK(data.directory == (dir.path() / "raw").string());
  }
  SUBCASE("raw preferred over .gz when both exist") {
    write_tiny_mnist(dir.path(), true);
    write_tiny_mnist(dir.path(), false);
    const MnistData data = load_mnist(dir.path().string());
    CHECK(data.train.images_path == dir.file("train-images-idx3-ubyte"));
  }
  const MnistData data = load_mnist(dir.path().string());
  CHECK(data.train.size() == 3);
  CHECK(data.test.size() == 2);
  CHECK(data.train.labels(2) == 9);
  CHECK(data.test.labels(1) == 4);
  CHECK(data.test.pixels(1, 3) == 8);
}

TEST_CASE("load_mnist on a folder without the files lists where it looked") {
  TempDir dir;
  write_tiny_mnist(dir.path(), false);
  fs::remove(dir.file("t10k-labels-idx1-ubyte"));
  const std::string msg = message_of<DataError>([&] { load_mnist(dir.path().string()); });
  INFO(msg);
  CHECK(contains(msg, "no MNIST-format dataset found"));
  CHECK(contains(msg, dir.path().string() + " (exists; missing: t10k-labels-idx1-ubyte)"));
  CHECK(contains(msg, (dir.path() / "MNIST" / "raw").string() + " (no such folder)"));
}

TEST_CASE("find_mnist_dir says which candidates exist and which hold the files") {
  TempDir dir;
  write_tiny_mnist(dir.path() / "good" / "MNIST" / "raw", true);
  fs::create_directories(dir.path() / "empty");
  const std::vector<std::string> candidates = {dir.file("absent"), dir.file("empty"), dir.file("good")};
  const MnistDirSearch search = find_mnist_dir(candidates);
  REQUIRE(search.candidates.size() == 3);
  CHECK_FALSE(search.candidates[0].exists);
  CHECK(search.candidates[1].exists);
  CHECK_FALSE(search.candidates[1].has_files);
  CHECK(search.candidates[2].has_files);
  CHECK(search.found());
  CHECK(search.directory == dir.file("good"));
  const std::string report = search.report();
  INFO(report);
  CHECK(contains(report, dir.file("absent") + ": missing"));
  CHECK(contains(report, dir.file("empty") + ": exists, no MNIST files"));
  CHECK(contains(report, dir.file("good") + ": exists, has the MNIST files"));

  CHECK_FALSE(find_mnist_dir({dir.file("absent")}).found());
  CHECK_FALSE(default_mnist_candidates().empty());
}

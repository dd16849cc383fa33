// .npz writing and reading, checked against Debian's numpy in both directions, and the
// atomic replacement of files.
#include <doctest/doctest.h>
#include <unistd.h>

#include "eigennet/data/atomic_file.hpp"
#include "eigennet/data/npz.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

// r × c with entry (i, j) = (i*c + j) * step − 1: distinct, exact in float.
template <typename Scalar>
Matrix<Scalar> ramp(Index rows, Index cols, Scalar step) {
  Matrix<Scalar> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = Scalar(i) * step - Scalar(1);
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("npz round trip keeps names, shapes, dtype and values", Scalar, float, double) {
  TempDir dir;
  const std::string path = dir.file("arrays.npz");
  const Matrix<Scalar> a = ramp<Scalar>(3, 4, Scalar(0.25));
  const Matrix<Scalar> b = ramp<Scalar>(1, 5, Scalar(0.1));
  Matrix<Scalar> wide = ramp<Scalar>(4, 6, Scalar(1));

  NpzWriter writer;
  writer.add("a", a);
  writer.add_1d("b", b);
  writer.add("block", wide.block(1, 2, 2, 3));  // a strided view
  writer.save(path);

  const NpzFile npz = load_npz(path);
  CHECK(npz.keys() == std::vector<std::string>{"a", "b", "block"});
  const NpyArray& na = npz.at("a");
  CHECK(na.dtype == (sizeof(Scalar) == 4 ? NpyDtype::Float32 : NpyDtype::Float64));
  CHECK(na.shape == std::vector<Index>{3, 4});
  CHECK(na.to_matrix<Scalar>() == a);
  CHECK(npz.at("b").shape == std::vector<Index>{5});
  CHECK(npz.at("b").shape_text() == "(5,)");
  CHECK(npz.at("b").to_matrix<Scalar>() == b);  // (n,) reads as 1 × n
  CHECK(npz.at("block").to_matrix<Scalar>() == Matrix<Scalar>(wide.block(1, 2, 2, 3)));

  const std::string msg = message_of<DataError>([&] { npz.at("c"); });
  CHECK(contains(msg, path + ": no array 'c' (arrays: a, b, block)"));

  // Same arrays, same bytes: a fixed timestamp keeps files reproducible.
  writer.save(dir.file("again.npz"));
  CHECK(read_bytes(path) == read_bytes(dir.file("again.npz")));
}

TEST_CASE("numpy.load reads our .npz: names, dtypes, shapes, values") {
  TempDir dir;
  const std::string path = dir.file("ours.npz");
  NpzWriter writer;
  writer.add("layer0.dense.W", ramp<float>(3, 4, 0.5f));
  writer.add("b64", ramp<double>(2, 2, 0.1));
  writer.add_1d("v", ramp<float>(1, 6, 2.0f));
  writer.save(path);
  run_python_ok(dir, "p = r'" + path + R"('
d = np.load(p)
assert sorted(d.files) == ['b64', 'layer0.dense.W', 'v'], d.files
w = d['layer0.dense.W']
assert w.dtype == np.float32 and w.shape == (3, 4) and w.flags.c_contiguous, (w.dtype, w.shape)
assert (w == (np.arange(12, dtype=np.float32) * np.float32(0.5) - 1).reshape(3, 4)).all(), w
assert w.sum() == 21.0, w.sum()
b = d['b64']
assert b.dtype == np.float64 and b.shape == (2, 2)
assert (b == (np.arange(4) * 0.1 - 1).reshape(2, 2)).all(), b
v = d['v']
assert v.dtype == np.float32 and v.shape == (6,) and v.sum() == 24.0, (v.shape, v.sum())
import zipfile
with zipfile.ZipFile(p) as z:
    assert z.testzip() is None
    assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
print('ok')
)");
}

TEST_CASE("we read numpy's np.savez and np.savez_compressed files") {
  TempDir dir;
  run_python_ok(dir, "import os\nos.chdir(r'" + dir.path().string() + R"(')
a = (np.arange(12, dtype=np.float32) / 7).reshape(3, 4)
b = np.linspace(-1, 1, 5)          # float64, 1-D
c = np.float64(2.5)                # 0-D
big = np.sqrt(np.arange(20000.0)).reshape(200, 100)  # correctly rounded: C++ gets the same bits
np.savez('plain.npz', a=a, b=b, c=c, big=big)
np.savez_compressed('compressed.npz', a=a, b=b, c=c, big=big)
np.savez('ints.npz', i=np.arange(3))
)");
  for (const char* name : {"plain.npz", "compressed.npz"}) {
    CAPTURE(name);
    const NpzFile npz = load_npz(dir.file(name));
    CHECK(npz.keys() == std::vector<std::string>{"a", "b", "c", "big"});
    const Matrix<float> a = npz.at("a").to_matrix<float>();
    REQUIRE(a.rows() == 3);
    REQUIRE(a.cols() == 4);
    for (Index i = 0; i < 12; ++i) CHECK(a.data()[i] == static_cast<float>(i) / 7.0f);
    const Matrix<double> b = npz.at("b").to_matrix<double>();
    REQUIRE(b.rows() == 1);
    REQUIRE(b.cols() == 5);
    CHECK(b(0, 0) == -1.0);
    CHECK(b(0, 2) == 0.0);
    CHECK(b(0, 4) == 1.0);
    CHECK(npz.at("c").shape.empty());
    CHECK(npz.at("c").to_matrix<double>()(0, 0) == 2.5);
    const Matrix<double> big = npz.at("big").to_matrix<double>();
    REQUIRE(big.rows() == 200);
    CHECK(big(199, 99) == std::sqrt(19999.0));
    CHECK(big(3, 7) == std::sqrt(307.0));
  }

  std::string path = dir.file("ints.npz");
  std::string msg = message_of<DataError>([&] { load_npz(path); });
  INFO(msg);
  CHECK(contains(msg, path + ": array 'i': dtype '<i8', expected float32 or float64"));
}

TEST_CASE("Fortran-ordered and big-endian arrays read as numpy reads them") {
  TempDir dir;
  // Each array is written in the odd layout and, beside it, as numpy reads it back: C order,
  // little-endian. The .npy headers confirm numpy kept the layout (np.savez writes
  // fortran_order True for F-contiguous arrays and keeps '>' dtypes).
  run_python_ok(dir, "import os\nos.chdir(r'" + dir.path().string() + R"(')
a = (np.arange(12, dtype=np.float32) / 7).reshape(3, 4)
t = np.arange(24.0).reshape(2, 3, 4) - 5.5
odd = dict(f=np.asfortranarray(a), e=a.astype('>f8'), ef=np.asfortranarray(a.astype('>f4')),
           t=np.asfortranarray(t), v=np.arange(5, dtype='>f4'), s=np.array(2.5, dtype='>f8'))
for name in ('odd', 'odd_compressed'):
    (np.savez if name == 'odd' else np.savez_compressed)(name + '.npz', **odd)
    with np.load(name + '.npz') as z:
        assert all(np.array_equal(z[k], odd[k]) for k in odd)
np.savez('expected.npz', **{k: np.asarray(v, dtype=v.dtype.newbyteorder('<'), order='C') for k, v in odd.items()})
import zipfile
with zipfile.ZipFile('odd.npz') as z:
    assert b"'fortran_order': True" in z.read('f.npy')[:128]
    assert b"'descr': '>f8'" in z.read('e.npy')[:128]
)");
  const NpzFile expected = load_npz(dir.file("expected.npz"));
  for (const std::string name : {"odd.npz", "odd_compressed.npz"}) {
    CAPTURE(name);
    const NpzFile npz = load_npz(dir.file(name));
    for (const std::string key : {"f", "e", "ef", "t", "v", "s"}) {
      CAPTURE(key);
      CHECK(npz.at(key).shape == expected.at(key).shape);
      CHECK(npz.at(key).dtype == expected.at(key).dtype);
      CHECK(npz.at(key).data == expected.at(key).data);
    }
    const Matrix<double> f = npz.at("f").to_matrix<double>();
    CHECK(f(1, 2) == static_cast<double>(6.0f / 7.0f));
    CHECK(npz.at("e").to_matrix<double>()(2, 3) == static_cast<double>(11.0f / 7.0f));
    CHECK(npz.at("s").to_matrix<double>()(0, 0) == 2.5);
  }
}

TEST_CASE("broken .npz files give errors naming the file") {
  TempDir dir;
  SUBCASE("missing") {
    const std::string path = dir.file("none.npz");
    const std::string msg = message_of<DataError>([&] { load_npz(path); });
    CHECK(contains(msg, path + ": cannot open"));
  }
  SUBCASE("not a zip") {
    const std::string path = dir.file("text.npz");
    write_bytes(path, std::vector<std::uint8_t>(100, 'x'));
    const std::string msg = message_of<DataError>([&] { load_npz(path); });
    CHECK(contains(msg, path + ": not a ZIP archive"));
  }
  SUBCASE("corrupt data: CRC mismatch") {
    const std::string path = dir.file("bad.npz");
    NpzWriter writer;
    writer.add("w", ramp<double>(2, 2, 1.0));
    writer.save(path);
    std::vector<std::uint8_t> bytes = read_bytes(path);
    bytes[30 + 5 + 128 + 3] ^= 0x40;  // local header + "w.npy" + NPY header, then data
    write_bytes(path, bytes);
    const std::string msg = message_of<DataError>([&] { load_npz(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": entry 'w.npy': CRC-32 mismatch"));
  }
  SUBCASE("truncated archive") {
    const std::string path = dir.file("short.npz");
    NpzWriter writer;
    writer.add("w", ramp<double>(20, 20, 1.0));
    writer.save(path);
    std::vector<std::uint8_t> bytes = read_bytes(path);
    bytes.erase(bytes.begin() + 1000, bytes.begin() + 2000);
    write_bytes(path, bytes);
    const std::string msg = message_of<DataError>([&] { load_npz(path); });
    INFO(msg);
    CHECK(contains(msg, path + ": "));
  }
  SUBCASE("writer rejects duplicate keys") {
    NpzWriter writer;
    writer.add("w", ramp<float>(1, 1, 1.0f));
    CHECK_THROWS_AS(writer.add("w", ramp<float>(1, 1, 1.0f)), std::invalid_argument);
  }
}

TEST_CASE("atomic writes leave the old file intact when the write fails") {
  TempDir dir;
  const std::string path = dir.file("model.npz");
  NpzWriter first;
  first.add("w", ramp<float>(2, 2, 1.0f));
  first.save(path);
  const std::vector<std::uint8_t> old_bytes = read_bytes(path);

  SUBCASE("the writer fails half-way (injected)") {
    CHECK_THROWS_WITH(write_file_atomic(path,
                                        [](FileSink& sink) {
                                          sink.write("partial", 7);
                                          throw std::runtime_error("injected failure");
                                        }),
                      "injected failure");
  }
  SUBCASE("the rename fails: the target is a non-empty directory") {
    const std::string target = dir.file("a-folder");
    fs::create_directories(fs::path(target) / "inside");
    const std::string msg = message_of<DataError>([&] { first.save(target); });
    INFO(msg);
    CHECK(contains(msg, target + ": cannot rename"));
    CHECK(fs::is_directory(fs::path(target) / "inside"));
  }
  SUBCASE("the directory does not exist") {
    const std::string target = dir.file("no-such-dir/model.npz");
    const std::string msg = message_of<DataError>([&] { first.save(target); });
    INFO(msg);
    CHECK(contains(msg, target + ": cannot create temporary file"));
  }
  SUBCASE("the directory is not writable") {
    if (::geteuid() == 0) {
      MESSAGE("running as root, who may write anywhere: read-only directory case not testable");
    } else {
      fs::permissions(dir.path(), fs::perms::owner_write, fs::perm_options::remove);
      NpzWriter second;
      second.add("w", ramp<float>(3, 3, 1.0f));
      const std::string msg = message_of<DataError>([&] { second.save(path); });
      fs::permissions(dir.path(), fs::perms::owner_write, fs::perm_options::add);
      CHECK(contains(msg, path));
    }
  }
  SUBCASE("a successful write replaces the file") {
    NpzWriter second;
    second.add("w", ramp<float>(3, 3, 1.0f));
    second.save(path);
    CHECK(load_npz(path).at("w").shape == std::vector<Index>{3, 3});
    return;
  }
  CHECK(read_bytes(path) == old_bytes);
  CHECK(load_npz(path).at("w").shape == std::vector<Index>{2, 2});
  const std::vector<std::string> leftovers = other_files(dir.path(), {"model.npz", "a-folder"});
  CHECK_MESSAGE(leftovers.empty(), "left behind: " << (leftovers.empty() ? "" : leftovers[0]));
}

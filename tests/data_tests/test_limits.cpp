// Hostile and corrupt files: sizes a file declares are checked before anything is allocated
// for them, and the error names the file and the size at fault. The files are the fuzz
// harnesses' seed corpus (tests/fuzz/corpus/, written by tests/fuzz/make_corpus.py), crashes
// the fuzzers found included.
#include <doctest/doctest.h>

#include "eigennet/data/idx.hpp"
#include "eigennet/data/npz.hpp"
#include "test_util.hpp"

using namespace eigennet;
using namespace eigennet_test;

namespace {

std::string corpus(const std::string& name) { return std::string(EIGENNET_FUZZ_CORPUS) + "/" + name; }

}  // namespace

TEST_CASE(".npz: a shape whose size overflows is too large, without undefined behaviour") {
  const std::string path = corpus("npz/shape_overflow.npz");
  const std::string msg = message_of<DataError>([&] { load_npz(path); });
  CHECK(msg == path + ": array 'x': shape (4000000000, 4000000000) is too large");
}

TEST_CASE(".npz: an NPY header longer than numpy's 10,000 bytes is refused") {
  const std::string path = corpus("npz/header_too_long.npz");
  const std::string msg = message_of<DataError>([&] { load_npz(path); });
  INFO(msg);
  CHECK(contains(msg, path + ": array 'x': NPY header of 10100 bytes, more than numpy's limit of 10000"));
}

TEST_CASE(".npz: an entry declaring more than its deflated bytes can hold is refused before inflating") {
  const std::string path = corpus("npz/declared_2g.npz");  // 205 bytes, declares 2.28 GB
  const std::string msg = message_of<DataError>([&] { load_npz(path); });
  INFO(msg);
  CHECK(contains(msg, path + ": entry 'W.npy' declares 2281701376 bytes uncompressed, more than "));
  CHECK(contains(msg, " deflated bytes can hold (at most 1032 times as many)"));
}

TEST_CASE(".npz: an entry whose data would start beyond the end of the file (found by fuzzing)") {
  const std::string path = corpus("npz/crash-entry-data-beyond-end.npz");
  const std::string msg = message_of<DataError>([&] { load_npz(path); });
  CHECK(msg == path + ": truncated ZIP archive: entry data at byte 291 lies beyond the end of the file (244 bytes)");
}

TEST_CASE("IDX: declared dimensions are checked against the data before it is allocated") {
  SUBCASE("raw: 12 bytes declaring 65536×65536 pixels, checked against the file size") {
    const std::string path = corpus("idx/dims_4g.idx");
    const std::string msg = message_of<DataError>([&] { read_idx(path); });
    CHECK(msg == path + ": truncated data: header says shape 65536×65536 (unsigned byte), "
                        "expected 4294967296 bytes of data, found 0 bytes");
  }
  SUBCASE("gzip: the same header; the buffer grows only as data arrives") {
    const std::string path = corpus("idx/dims_4g.idx.gz");
    const std::string msg = message_of<DataError>([&] { read_idx(path); });
    CHECK(msg == path + ": truncated data: header says shape 65536×65536 (unsigned byte), "
                        "expected 4294967296 bytes of data, found 0 bytes");
  }
  SUBCASE("gzip: more data than the first allocation, still far less than declared") {
    TempDir dir;
    const std::string path = dir.file("big.idx.gz");
    write_gzip(path, idx_bytes({65536, 65536}, std::vector<std::uint8_t>(300000, 7)));
    const std::string msg = message_of<DataError>([&] { read_idx(path); });
    CHECK(msg == path + ": truncated data: header says shape 65536×65536 (unsigned byte), "
                        "expected 4294967296 bytes of data, found 300000 bytes");
  }
  SUBCASE("dimensions whose product overflows") {
    const std::string path = corpus("idx/dims_overflow.idx");
    const std::string msg = message_of<DataError>([&] { read_idx(path); });
    CHECK(msg == path + ": dimensions 4294967295×4294967295×4294967295 are too large");
  }
  SUBCASE("an empty array with huge other dimensions: their product must still fit") {
    TempDir dir;
    const std::string path = dir.file("empty.idx");
    write_bytes(path, idx_bytes({0, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
    const std::string msg = message_of<DataError>([&] { read_idx_images(path); });
    CHECK(msg == path + ": dimensions 0×4294967295×4294967295 are too large");
  }
}

TEST_CASE(".npz: two entries sharing one stream of data are refused (overlapping entries)") {
  const std::string path = corpus("npz/overlapping.npz");  // V.npy's record points at W.npy's data
  const std::string msg = message_of<DataError>([&] { load_npz(path); });
  INFO(msg);
  CHECK(contains(msg, path + ": entry 'V.npy': its data (bytes "));
  CHECK(contains(msg, ") overlaps another entry's"));
  // The same two arrays written as a normal archive load.
  CHECK_NOTHROW(load_npz(corpus("npz/plain.npz")));
}

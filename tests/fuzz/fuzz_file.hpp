// For the harnesses of readers that take a path: the input written to a temporary file of
// this process (as is, or gzip-compressed), removed at exit. In /dev/shm where there is one:
// on a disk, writing the file dominates and fuzzing runs some 20 times slower.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace eigennet_fuzz {

inline const std::string& fuzz_path() {
  struct Path {
    std::string path = ((std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                   : std::filesystem::temp_directory_path()) /
                        ("eigennet-fuzz-" + std::to_string(::getpid())))
                           .string();
    ~Path() { std::remove(path.c_str()); }
  };
  static const Path file;
  return file.path;
}

// Writes the input to the temporary file and returns its path.
inline std::string write_fuzz_file(const std::uint8_t* data, std::size_t size, bool gzip) {
  const std::string& path = fuzz_path();
  gzFile file = gzopen(path.c_str(), gzip ? "wb1" : "wbT");  // "T": written as is
  if (file == nullptr) std::abort();
  if (size != 0 && gzwrite(file, data, static_cast<unsigned>(size)) != static_cast<int>(size)) std::abort();
  if (gzclose(file) != Z_OK) std::abort();
  return path;
}

}  // namespace eigennet_fuzz

// Writing a file so that readers see either the old file or the complete new one.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>

namespace eigennet {

// Where write_file_atomic's callback writes. write() throws DataError on an I/O error.
class FileSink {
 public:
  FileSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  void write(const void* data, std::size_t size);
  std::size_t bytes_written() const { return written_; }

 private:
  std::FILE* file_;
  std::string path_;  // the temporary file, for error messages
  std::size_t written_ = 0;
};

// Writes `path` atomically: `fill` writes the contents into "<path>.tmp-XXXXXX" (a new file
// in the same directory, so the rename cannot cross file systems), which is flushed,
// fsync'ed and renamed over `path`; then the directory is fsync'ed so the rename is durable.
// If anything fails — the temporary cannot be created, `fill` throws, a write, fsync or the
// rename fails — the temporary is removed, `path` is left as it was, and a DataError naming
// `path` and the failing step is thrown (an exception from `fill` is rethrown unchanged).
// The new file gets mode 0666 minus the umask (an old file's mode is not kept), and a
// symbolic link at `path` is replaced by the file, not followed.
void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& fill);

// Checks, before any work is done, that write_file_atomic(path) could create the file: its
// folder exists, is a folder and is writable, and path itself is not a folder. Throws DataError
// "<what> <path>: …" naming the folder at fault.
void require_writable_destination(const std::string& path, const std::string& what);

}  // namespace eigennet

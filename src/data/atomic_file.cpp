// Atomic file replacement: temporary file + fsync + rename (POSIX).
#include "eigennet/data/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "eigennet/data/error.hpp"

namespace eigennet {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// A file name suffix unlikely to collide between processes and threads; O_EXCL makes a
// collision an error we retry on, never a shared file.
std::string random_suffix(unsigned attempt) {
  static std::atomic<unsigned> counter{0};
  const auto ticks = static_cast<unsigned long long>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  unsigned long long mix = ticks ^ (static_cast<unsigned long long>(::getpid()) << 32) ^
                           (static_cast<unsigned long long>(counter++) << 16) ^ attempt;
  mix *= 0x9E3779B97F4A7C15ull;
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string text;
  for (int i = 0; i < 6; ++i) {
    text += digits[(mix >> 58) % 36];
    mix = mix * 6364136223846793005ull + 1442695040888963407ull;
  }
  return text;
}

// Best effort: make the rename itself durable. Errors are ignored (some file systems refuse
// to fsync a directory), the data file is already synced.
void sync_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void FileSink::write(const void* data, std::size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_) != size)
    throw DataError(path_ + ": write failed after " + std::to_string(written_) + " bytes: " +
                    errno_text(errno));
  written_ += size;
}

void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& fill) {
  std::string temp;
  int fd = -1;
  for (unsigned attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temp = path + ".tmp-" + random_suffix(attempt);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      throw DataError(path + ": cannot create temporary file " + temp + ": " + errno_text(errno));
  }
  if (fd < 0) throw DataError(path + ": cannot create a temporary file: 100 names taken");

  std::FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw DataError(path + ": fdopen failed: " + errno_text(err));
  }

  // From here on every failure closes and removes the temporary file.
  bool closed = false;
  try {
    FileSink sink(file, temp);
    fill(sink);
    if (std::fflush(file) != 0) throw DataError(path + ": writing " + temp + " failed: " + errno_text(errno));
    if (::fsync(::fileno(file)) != 0) throw DataError(path + ": fsync of " + temp + " failed: " + errno_text(errno));
    closed = true;
    if (std::fclose(file) != 0) throw DataError(path + ": closing " + temp + " failed: " + errno_text(errno));
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      throw DataError(path + ": cannot rename " + temp + " over it: " + errno_text(errno));
  } catch (...) {
    if (!closed) std::fclose(file);
    ::unlink(temp.c_str());
    throw;
  }
  sync_directory(path);
}

void require_writable_destination(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path file(path);
  const fs::path folder = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const std::string where = what + " " + path + ": ";
  if (fs::is_directory(file, ec)) throw DataError(where + "is a folder, not a file name");
  if (!fs::exists(folder, ec)) throw DataError(where + "the folder " + folder.string() + " does not exist");
  if (!fs::is_directory(folder, ec)) throw DataError(where + folder.string() + " is not a folder");
  if (::access(folder.c_str(), W_OK) != 0)
    throw DataError(where + "the folder " + folder.string() + " is not writable (" + std::strerror(errno) + ")");
}

}  // namespace eigennet

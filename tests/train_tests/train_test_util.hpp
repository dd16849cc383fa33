// Helpers shared by the training tests: required environment, scratch folders, running a
// program and capturing what it prints.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

namespace train_test {

namespace fs = std::filesystem;

// The value of an environment variable that `meson test` sets; the test fails without it.
inline std::string require_env(const char* name) {
  const char* value = std::getenv(name);
  REQUIRE_MESSAGE(value != nullptr, std::string(name) << " is not set: run these tests through `meson test`");
  return value;
}

// A fresh folder under the system's temporary folder, removed at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device device;
    path_ = fs::temp_directory_path() / ("eigennet-train-test-" + std::to_string(device()));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

struct CommandResult {
  int status = -1;     // the exit status; -1 if it did not exit normally
  std::string output;  // stdout and stderr together

  // The last non-empty line of the output.
  std::string last_line() const {
    std::size_t end = output.find_last_not_of("\n");
    if (end == std::string::npos) return "";
    const std::size_t begin = output.rfind('\n', end);
    return output.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
  }
};

// Runs a shell command line, capturing stdout and stderr.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run: " << command);
  std::array<char, 4096> chunk;
  std::size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// "test accuracy: 88.15%" → 88.15; the test fails if the line is not there.
inline double parse_accuracy_line(const std::string& line) {
  const std::string prefix = "test accuracy: ";
  REQUIRE_MESSAGE(line.rfind(prefix, 0) == 0, "expected a last line `test accuracy: NN.NN%`, got: " << line);
  REQUIRE_MESSAGE(line.back() == '%', "expected a last line `test accuracy: NN.NN%`, got: " << line);
  return std::stod(line.substr(prefix.size()));
}

}  // namespace train_test

// Running the tools under test: the environment `meson test` sets, and a command line with its
// exit status and everything it printed.
#pragma once

#include <doctest/doctest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <array>
#include <cstdlib>
#include <string>

namespace eigennet_test {

// The value of an environment variable that `meson test` sets; the test fails without it.
inline std::string require_env(const char* name) {
  const char* value = std::getenv(name);
  REQUIRE_MESSAGE(value != nullptr, std::string(name) << " is not set: run these tests through `meson test`");
  return value;
}

struct CommandResult {
  int status = -1;     // the exit status; -1 if it did not exit normally
  std::string output;  // stdout and stderr together, as printed

  // The last non-empty line of the output.
  std::string last_line() const {
    const std::size_t end = output.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    const std::size_t newline = output.rfind('\n', end);
    const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
    return output.substr(begin, end - begin + 1);
  }
};

// Runs a shell command line, capturing stdout and stderr together.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run: " << command);
  std::array<char, 4096> chunk;
  for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0;) result.output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// "test accuracy: 88.15%", the last line of a train-mnist (or reference script) run → 88.15; the
// test fails if the last line is anything else.
inline double final_test_accuracy(const CommandResult& run) {
  const std::string line = run.last_line(), prefix = "test accuracy: ";
  REQUIRE_MESSAGE((line.rfind(prefix, 0) == 0 && line.back() == '%'),
                  "expected a last line `test accuracy: NN.NN%`, got: " << line);
  return std::stod(line.substr(prefix.size()));
}

}  // namespace eigennet_test

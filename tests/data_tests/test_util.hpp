// Helpers shared by the data-layer tests: raw files and running
// Debian's numpy (/usr/bin/python3) as the reference reader and writer.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace eigennet_test {

namespace fs = std::filesystem;

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE_MESSAGE(out.good(), "cannot write " << path);
}

inline void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE_MESSAGE(file != nullptr, "cannot write " << path);
  const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
  REQUIRE(written == static_cast<int>(bytes.size()));
}

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// IDX bytes: magic 0x0000TTDD (type 0x08), big-endian dimensions, then `payload`.
inline std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims,
                                           const std::vector<std::uint8_t>& payload,
                                           std::uint8_t type = 0x08) {
  std::vector<std::uint8_t> out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// The other files in `dir` than `keep` (to find leftover temporary files).
inline std::vector<std::string> other_files(const fs::path& dir, const std::vector<std::string>& keep) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    bool kept = false;
    for (const std::string& k : keep) kept = kept || k == name;
    if (!kept) names.push_back(name);
  }
  return names;
}

// Debian's interpreter: the `python3` first on PATH here is another one, without numpy.
inline const char* kPython = "/usr/bin/python3";

struct PythonRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `script` with /usr/bin/python3 inside `dir`. Fails the test (not skips) when the
// interpreter or numpy is missing: these checks are the point of the test.
inline PythonRun run_python(const TempDir& dir, const std::string& script) {
  REQUIRE_MESSAGE(fs::exists(kPython), kPython << " is missing: install python3 and python3-numpy "
                                               "(apt-get install python3-numpy)");
  const std::string script_path = dir.file("check.py");
  const std::string out_path = dir.file("check.out");
  {
    std::ofstream out(script_path);
    out << "import numpy as np\n" << script;
  }
  const std::string command = std::string(kPython) + " '" + script_path + "' > '" + out_path + "' 2>&1";
  const int status = std::system(command.c_str());
  PythonRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_path);
  run.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE(run.output.find("No module named 'numpy'") == std::string::npos,
                  kPython << " has no numpy: apt-get install python3-numpy");
  return run;
}

// Runs `script` and requires exit code 0, printing the script's output otherwise.
inline std::string run_python_ok(const TempDir& dir, const std::string& script) {
  const PythonRun run = run_python(dir, script);
  INFO("python output:\n" << run.output);
  REQUIRE(run.exit_code == 0);
  return run.output;
}

// Whitespace-separated integers printed by a script.
inline std::vector<long long> parse_ints(const std::string& text) {
  std::vector<long long> values;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t used = 0;
    try {
      values.push_back(std::stoll(text.substr(pos), &used));
    } catch (...) {
      break;
    }
    pos += used;
  }
  return values;
}

// True when `text` contains `part`; used with CHECK_MESSAGE to show the whole message.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The message of the `Exception` that f() throws; fails the test if it throws nothing.
template <typename Exception, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Exception& e) {
    return e.what();
  }
  FAIL("expected an exception, none was thrown");
  return "";
}

}  // namespace eigennet_test

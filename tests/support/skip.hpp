// Skipping honestly: a test case that cannot check what it is for calls skip(reason), which
// records the reason and prints it; the shared main (tests/test_main.cpp) then exits 77 when
// nothing failed, so `meson test` shows SKIP and the reason is in the test log.
#pragma once

#include <iostream>
#include <string>
#include <vector>

namespace eigennet_test {

inline constexpr int kSkipExitCode = 77;

inline std::vector<std::string>& skip_reasons() {
  static std::vector<std::string> reasons;
  return reasons;
}

inline void skip(const std::string& reason) {
  std::cout << "skipping: " << reason << std::endl;
  skip_reasons().push_back(reason);
}

}  // namespace eigennet_test

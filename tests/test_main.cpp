// The doctest main shared by every test executable. A test that cannot check what it is for
// (a dataset or a program missing) calls eigennet_test::skip(reason): when nothing failed, the
// executable then exits 77, which `meson test` reports as SKIP, never as a pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "support/skip.hpp"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit() || status != 0) return status;
  if (!eigennet_test::skip_reasons().empty()) {
    for (const std::string& reason : eigennet_test::skip_reasons()) std::cout << "SKIPPED: " << reason << "\n";
    return eigennet_test::kSkipExitCode;
  }
  return 0;
}

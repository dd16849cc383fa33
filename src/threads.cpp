#include "eigennet/threads.hpp"

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace eigennet {
namespace {

int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
int& thread_setting() {
  static int threads = default_threads();
  return threads;
}

}  // namespace

void set_thread_count(int threads) { thread_setting() = std::max(1, threads); }
int thread_count() { return thread_setting(); }

}  // namespace eigennet

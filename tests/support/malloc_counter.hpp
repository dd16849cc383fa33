// Counting every heap allocation of the process: malloc and friends are interposed (glibc) and
// each call adds one to a counter, so the count sees Eigen, std::vector, std::string and OpenMP
// alike, not only what Eigen's EIGEN_RUNTIME_NO_MALLOC check sees.
//
// Include it in exactly one source file of a program: it defines malloc, calloc, realloc,
// memalign, aligned_alloc and posix_memalign for the whole program. The tests of "no allocation
// after the first step" and the benchmark (tools/bench/bench.cpp) use it. Where the C library is
// not glibc, or under AddressSanitizer (which owns malloc), nothing is interposed and
// counts_allocations is false: the no-allocation tests then refuse to run (REQUIRE it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>

#ifdef EIGEN_RUNTIME_NO_MALLOC
#include <Eigen/Core>
#endif

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define EIGENNET_TEST_COUNTS_ALLOCATIONS 1
#endif

namespace eigennet_test {

#ifdef EIGENNET_TEST_COUNTS_ALLOCATIONS
inline constexpr bool counts_allocations = true;
#else
inline constexpr bool counts_allocations = false;
#endif

// Allocations since the start of the program (or the last reset_allocations()). Where nothing is
// counted, asking is an error: a no-allocation test must not pass by counting nothing.
inline std::atomic<long> allocation_count{0};
inline long allocations() {
  if (!counts_allocations)
    throw std::logic_error("malloc_counter: allocations are not counted in this build (not glibc, or "
                           "AddressSanitizer owns malloc); run the no-allocation tests in a plain build");
  return allocation_count.load();
}
inline void reset_allocations() { allocation_count.store(0); }

// The negative control of every no-allocation check: one malloc (called through a volatile
// pointer, so it cannot be optimised away) is counted, so a count of zero means something.
inline bool counter_sees_an_allocation() {
  reset_allocations();
  void* (*volatile allocate)(std::size_t) = std::malloc;
  void* p = allocate(64);
  const long counted = allocations();
  std::free(p);
  return counted >= 1;
}

// The allocations while body() runs. Where Eigen's own check is compiled in
// (EIGEN_RUNTIME_NO_MALLOC), Eigen also asserts on any allocation inside.
template <typename Body>
long allocations_during(Body&& body) {
  reset_allocations();
#ifdef EIGEN_RUNTIME_NO_MALLOC
  Eigen::internal::set_is_malloc_allowed(false);
#endif
  body();
#ifdef EIGEN_RUNTIME_NO_MALLOC
  Eigen::internal::set_is_malloc_allowed(true);
#endif
  return allocations();
}

}  // namespace eigennet_test

#ifdef EIGENNET_TEST_COUNTS_ALLOCATIONS
namespace eigennet_test {
inline void count_allocation() { allocation_count.fetch_add(1, std::memory_order_relaxed); }
}  // namespace eigennet_test

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

void* malloc(std::size_t n) {
  eigennet_test::count_allocation();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  eigennet_test::count_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  eigennet_test::count_allocation();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  eigennet_test::count_allocation();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) { return memalign(alignment, n); }
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  *out = memalign(alignment, n);
  return *out ? 0 : 12;  // ENOMEM
}
}  // extern "C"
#endif

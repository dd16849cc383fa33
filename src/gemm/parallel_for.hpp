// The library's threading policy (internal): how many threads a piece of work gets, and the one
// OpenMP loop that every parallel loop of the library goes through.
#pragma once

#include <algorithm>
#include <exception>

#include "eigennet/gemm/gemm.hpp"
#include "eigennet/threads.hpp"
#include "eigennet/types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace eigennet {

// The least work worth a thread of its own, in multiply-adds (or elements, for an element-wise
// loop). Waking an OpenMP team and joining it costs a few microseconds; 2^18 multiply-adds take
// ~10–30 µs on one core at the 20–40 GFLOP/s these products reach, and an element-wise pass
// over 2^18 entries ~50–100 µs, so each thread's share outweighs the start-up several times
// while a 784×1000 layer's products and updates are still split.
constexpr Index kMinWorkPerThread = Index(1) << 18;

// Threads for `work` multiply-adds (or elements): one per kMinWorkPerThread of work, at least 1,
// at most thread_count(). Inside a parallel region it is 1: the work there is already split,
// and a nested split would open a team per call (libgomp allocates one each time) for no gain.
inline int threads_for(Index work) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return static_cast<int>(std::clamp<Index>(work / kMinWorkPerThread, 1, thread_count()));
}

// Calls body(n, thread) for n in [0, count): on `threads` OpenMP threads (thread ∈ [0, threads)),
// or on the calling thread (thread 0) when threads ≤ 1. The schedule is static: each thread
// gets the same share of n every call, so whatever a thread allocates lazily on first use
// (gemm()'s packing space is kept per thread) exists after the first step. The serial case
// opens no parallel region at all: libgomp allocates a new team whenever the team size changes,
// and a training step must not allocate.
// An exception must not leave an OpenMP region (the program would terminate): each one is
// caught on its thread, the other iterations still run, and the first one caught is rethrown
// after the region.
template <typename Body>
void parallel_for(Index count, int threads, const Body& body) {
#ifdef _OPENMP
  if (threads > 1) {
    std::exception_ptr first_error;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index n = 0; n < count; ++n) {
      try {
        body(n, omp_get_thread_num());
      } catch (...) {
#pragma omp critical(eigennet_parallel_for_error)
        if (!first_error) first_error = std::current_exception();
      }
    }
    if (first_error) std::rethrow_exception(first_error);
    return;
  }
#else
  (void)threads;
#endif
  for (Index n = 0; n < count; ++n) body(n, 0);
}

}  // namespace eigennet

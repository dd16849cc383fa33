// Loops over the samples of a batch, split over OpenMP threads (internal to the library).
#pragma once

#include "eigennet/gemm/gemm.hpp"
#include "eigennet/types.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace eigennet {

// Calls body(n, thread) for n in [0, count): on `threads` OpenMP threads (thread ∈ [0, threads)),
// or on the calling thread (thread 0) when threads ≤ 1. The schedule is static: each thread
// gets the same share of n every call, so whatever a thread allocates lazily on first use
// (gemm()'s packing space is kept per thread) exists after the first step.
// - Inside the loop gemm() runs on one thread: the samples are already split, and a gemm()
//   that split its product again would open a nested region per call (no gain; libgomp
//   allocates a team for each).
// - The serial case opens no parallel region at all: libgomp allocates a new team whenever the
//   team size changes, and a training step must not allocate.
template <typename Body>
void parallel_for(Index count, int threads, const Body& body) {
#ifdef _OPENMP
  if (threads > 1) {
    const int gemm_setting = gemm_threads();
    set_gemm_threads(1);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index n = 0; n < count; ++n) body(n, omp_get_thread_num());
    set_gemm_threads(gemm_setting);
    return;
  }
#else
  (void)threads;
#endif
  for (Index n = 0; n < count; ++n) body(n, 0);
}

}  // namespace eigennet

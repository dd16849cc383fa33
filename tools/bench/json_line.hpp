// The fields that every bench program's JSON line shares (eigennet-bench, gemm-bound,
// cuda-gemm-bound), written one way: the timed blocks and the process's peak memory. run.py
// reads them. Plain C++ and POSIX only, so that any of them can include it.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <ostream>
#include <vector>

namespace bench {

// "steps_per_block": S, "block_seconds": [t1, t2, ...], "timed_steps": S × the blocks
inline void write_blocks(std::ostream& out, long steps_per_block, const std::vector<double>& seconds) {
  out << "\"steps_per_block\": " << steps_per_block << ", \"block_seconds\": [";
  for (std::size_t i = 0; i < seconds.size(); ++i) out << (i ? ", " : "") << seconds[i];
  out << "], \"timed_steps\": " << steps_per_block * long(seconds.size());
}

// The process's peak resident memory so far, in KiB (getrusage's maxrss).
inline long maxrss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace bench

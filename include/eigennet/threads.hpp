// The library's thread count: how many OpenMP threads eigennet's parallel work may use (products
// split over threads, per-sample loops of the CNN layers, optimizer updates). How many a given
// piece of work gets is decided by size, up to this count.
#pragma once

namespace eigennet {

// Sets the thread count (at least 1). Default: OpenMP's max threads, 1 without OpenMP.
void set_thread_count(int threads);
int thread_count();

// Sets the thread count for its lifetime and restores the previous one after, however the scope
// ends: `ThreadCountScope serial(1);` runs a block serially.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : saved_(thread_count()) { set_thread_count(threads); }
  ~ThreadCountScope() { set_thread_count(saved_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

}  // namespace eigennet

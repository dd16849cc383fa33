#include "eigennet/copy_rows.hpp"

#include "gemm/parallel_for.hpp"

namespace eigennet {

template <typename Scalar>
void copy_rows(const ConstMatrixRef<Scalar>& x, const Index* indices, Index count, MatrixRef<Scalar> out) {
  constexpr Index kAhead = 4;  // 4, 8 and 16 rows ahead measured alike
  const Index line = 64 / static_cast<Index>(sizeof(Scalar));
  const auto copy = [&](Index begin, Index end) {
    for (Index r = begin; r < end; ++r) {
      if (r + kAhead < end) {
        const Scalar* ahead = x.data() + indices[r + kAhead] * x.outerStride();
        for (Index c = 0; c < x.cols(); c += line) __builtin_prefetch(ahead + c);
      }
      out.row(r) = x.row(indices[r]);
    }
  };
  // Split over the threads by the library's policy, an entry of a scattered row counting as 16
  // units of work (each row waits on memory): two threads from 32k entries on. Measured on two
  // threads: W3's batch of 100×784, epoch 0.059 → 0.049 s.
  constexpr Index kWorkPerEntry = 16;
  const int threads = threads_for(count * x.cols() * kWorkPerEntry);
  if (threads <= 1) return copy(0, count);
  parallel_for(threads, threads, [&](Index t, int) { copy(count * t / threads, count * (t + 1) / threads); });
}

template void copy_rows<float>(const ConstMatrixRef<float>&, const Index*, Index, MatrixRef<float>);
template void copy_rows<double>(const ConstMatrixRef<double>&, const Index*, Index, MatrixRef<double>);

}  // namespace eigennet

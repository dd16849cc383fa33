#include "eigennet/copy_rows.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "gemm/parallel_for.hpp"

namespace eigennet {

namespace {

// copy_row(r, row_at(r)) for every r < count, with the source rows a few places ahead prefetched
// (each scattered row starts with a cache miss). Split over the threads by the library's policy,
// an entry of a scattered row counting as 16 units of work (each row waits on memory): two
// threads from 32k entries on. Measured on two threads: W3's batch of 100×784 floats, epoch
// 0.059 → 0.049 s.
template <typename RowAt, typename CopyRow>
void gather(Index count, Index cols, Index row_bytes, const RowAt& row_at, const CopyRow& copy_row) {
  constexpr Index kAhead = 4;  // 4, 8 and 16 rows ahead measured alike
  const auto copy = [&](Index begin, Index end) {
    for (Index r = begin; r < end; ++r) {
      if (r + kAhead < end) {
        const char* ahead = reinterpret_cast<const char*>(row_at(r + kAhead));
        for (Index b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
      }
      copy_row(r, row_at(r));
    }
  };
  constexpr Index kWorkPerEntry = 16;
  const int threads = threads_for(count * cols * kWorkPerEntry);
  if (threads <= 1) return copy(0, count);
  parallel_for(threads, threads, [&](Index t, int) { copy(count * t / threads, count * (t + 1) / threads); });
}

// out[c] = (Scalar(in[c]) / 255 − mean) / std for c < cols; mean 0 and std 1 skip their (exact)
// operations. Locals, so that the compiler vectorizes the loops.
template <typename Scalar>
void decode_row(const std::uint8_t* in, Index cols, Scalar mean, Scalar std, Scalar* out) {
  const Scalar range = Scalar(255);
  if (mean == Scalar(0) && std == Scalar(1)) {
    for (Index c = 0; c < cols; ++c) out[c] = Scalar(in[c]) / range;
  } else {
    for (Index c = 0; c < cols; ++c) out[c] = (Scalar(in[c]) / range - mean) / std;
  }
}

// Row r decoded into row r of out.
template <typename Scalar>
auto byte_row_copier(const ByteRows<Scalar>& x, MatrixRef<Scalar> out) {
  return [&x, data = out.data(), stride = out.outerStride()](Index r, const std::uint8_t* row) {
    decode_row<Scalar>(row, x.cols(), x.mean, x.std, data + r * stride);
  };
}

}  // namespace

template <typename Scalar>
void copy_rows(const ConstMatrixRef<Scalar>& x, const Index* indices, Index count, MatrixRef<Scalar> out) {
  gather(
      count, x.cols(), x.cols() * Index(sizeof(Scalar)),
      [&](Index r) { return x.data() + indices[r] * x.outerStride(); },
      [&](Index r, const Scalar*) { out.row(r) = x.row(indices[r]); });
}

template <typename Scalar>
ByteRows<Scalar>::ByteRows(const ByteMatrix& bytes_, Scalar mean_, Scalar std_) : bytes(&bytes_), mean(mean_), std(std_) {
  if (!(std > 0) || !std::isfinite(std) || !std::isfinite(mean))
    throw std::invalid_argument("byte rows: std must be positive and finite and mean finite, got mean " +
                                std::to_string(double(mean)) + ", std " + std::to_string(double(std)));
}

template <typename Scalar>
void copy_rows(const ByteRows<Scalar>& x, const Index* indices, Index count, MatrixRef<Scalar> out) {
  const std::uint8_t* data = x.bytes->data();
  gather(
      count, x.cols(), x.cols(), [&](Index r) { return data + indices[r] * x.cols(); }, byte_row_copier(x, out));
}

template <typename Scalar>
void copy_rows(const ByteRows<Scalar>& x, Index begin, Index count, MatrixRef<Scalar> out) {
  const std::uint8_t* data = x.bytes->data();
  gather(
      count, x.cols(), x.cols(), [&](Index r) { return data + (begin + r) * x.cols(); }, byte_row_copier(x, out));
}

#define EIGENNET_INSTANTIATE(Scalar)                                                                         \
  template void copy_rows<Scalar>(const ConstMatrixRef<Scalar>&, const Index*, Index, MatrixRef<Scalar>);    \
  template struct ByteRows<Scalar>;                                                                          \
  template void copy_rows<Scalar>(const ByteRows<Scalar>&, const Index*, Index, MatrixRef<Scalar>);          \
  template void copy_rows<Scalar>(const ByteRows<Scalar>&, Index, Index, MatrixRef<Scalar>);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet

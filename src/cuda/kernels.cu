// The small kernels of device training (declared, with their equations, in kernels.hpp).
// Kernels use grid-stride loops; launch_blocks() below is the one place that chooses their
// launch shape.
#include <algorithm>
#include <string>

#include "check.hpp"
#include "kernels.hpp"

namespace eigennet {
namespace cuda {
namespace kernels {
namespace {

constexpr int kBlock = 256;
// Blocks for a grid-stride loop over `count` items: one item per thread up to 4096 blocks (a
// few waves on any current GPU), at least one block.
unsigned launch_blocks(Size count) {
  return static_cast<unsigned>(std::clamp<Size>((count + kBlock - 1) / kBlock, 1, 4096));
}

void check_launch(const char* kernel) {
  detail::check_cuda(cudaGetLastError(), [&] { return std::string("launching ") + kernel; });
}

__device__ Size thread_index() { return Size(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ Size thread_stride() { return Size(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void gather_rows_kernel(const T* data, Size cols, const std::int32_t* indices, Size n, T* out) {
  for (Size e = thread_index(); e < n * cols; e += thread_stride()) {
    const Size i = e / cols, j = e % cols;
    out[e] = data[Size(indices[i]) * cols + j];
  }
}

template <typename Scalar>
__global__ void broadcast_row_kernel(const Scalar* row, Size rows, Size cols, Scalar* y) {
  for (Size e = thread_index(); e < rows * cols; e += thread_stride()) y[e] = row[e % cols];
}

// One thread per column; neighbouring threads read neighbouring entries of each row.
template <typename Scalar>
__global__ void column_sums_kernel(const Scalar* dy, Size rows, Size cols, Scalar* sums) {
  for (Size j = thread_index(); j < cols; j += thread_stride()) {
    Scalar total = 0;
    for (Size i = 0; i < rows; ++i) total += dy[i * cols + j];
    sums[j] = total;
  }
}

template <typename Scalar>
__device__ Scalar apply(Activation f, Scalar x) {
  switch (f) {
    // max(x, 0) as the CPU's ReLU (Eigen's cwiseMax, std::max) computes it: a NaN stays NaN, so
    // that the loss shows it and training stops.
    case Activation::Relu: return x < Scalar(0) ? Scalar(0) : x;
    case Activation::Sigmoid: return Scalar(1) / (Scalar(1) + exp(-x));  // exp(−x) = inf → 0, no NaN
    case Activation::Tanh: return tanh(x);
  }
  return x;
}

template <typename Scalar>
__device__ Scalar derivative_times(Activation f, Scalar x, Scalar y, Scalar dy) {
  switch (f) {
    case Activation::Relu: return x > Scalar(0) ? dy : Scalar(0);
    case Activation::Sigmoid: return dy * y * (Scalar(1) - y);
    case Activation::Tanh: return dy * (Scalar(1) - y * y);
  }
  return dy;
}

template <typename Scalar>
__global__ void activation_forward_kernel(Activation f, const Scalar* x, Scalar* y, Size count) {
  for (Size e = thread_index(); e < count; e += thread_stride()) y[e] = apply(f, x[e]);
}

template <typename Scalar>
__global__ void activation_backward_kernel(Activation f, const Scalar* x, const Scalar* y, const Scalar* dy,
                                           Scalar* dx, Size count) {
  for (Size e = thread_index(); e < count; e += thread_stride()) dx[e] = derivative_times(f, x[e], y[e], dy[e]);
}

// One thread per row (the outputs here are narrow: 10 classes). Stable softmax: p = exp(z − m)/s
// with m the row max; log p_label = z_label − m − log s.
template <typename Scalar>
__global__ void softmax_cross_entropy_kernel(const Scalar* z, const std::int32_t* labels, Size rows, Size cols,
                                             Scalar log_epsilon, Scalar* dz, Scalar* row_loss, Scalar* row_right) {
  for (Size n = thread_index(); n < rows; n += thread_stride()) {
    const Scalar* zn = z + n * cols;
    Scalar* dzn = dz + n * cols;
    Scalar m = zn[0];
    Size best = 0;  // the first maximum (numpy's argmax, train.cpp's accuracy)
    for (Size k = 1; k < cols; ++k)
      if (zn[k] > zn[best]) best = k;
    for (Size k = 1; k < cols; ++k) m = max(m, zn[k]);
    Scalar s = 0;
    for (Size k = 0; k < cols; ++k) {
      dzn[k] = exp(zn[k] - m);
      s += dzn[k];
    }
    const Size label = labels[n];
    const Scalar inv_rows = Scalar(1) / Scalar(rows);
    for (Size k = 0; k < cols; ++k) dzn[k] = (dzn[k] / s - (k == label ? Scalar(1) : Scalar(0))) * inv_rows;
    const Scalar log_p = zn[label] - m - log(s);
    row_loss[n] = log_epsilon > Scalar(0) ? -log(exp(log_p) + log_epsilon) : -log_p;
    if (row_right) row_right[n] = best == label ? Scalar(1) : Scalar(0);
  }
}

template <typename Scalar>
__global__ void squared_error_kernel(const Scalar* o, const Scalar* t, Size rows, Size cols, Scalar* d,
                                     Scalar* row_loss) {
  for (Size n = thread_index(); n < rows; n += thread_stride()) {
    Scalar total = 0;
    for (Size k = n * cols; k < (n + 1) * cols; ++k) {
      const Scalar r = o[k] - t[k];
      d[k] = Scalar(2) * r;
      total += r * r;
    }
    row_loss[n] = total;
  }
}

// One block of kBlock threads: strided partial sums, then a tree in shared memory (the same
// order every time, so the loss is reproducible).
template <typename Scalar>
__device__ Scalar block_sum(const Scalar* values, Size rows, Scalar* partial) {
  Scalar total = 0;
  for (Size n = threadIdx.x; n < rows; n += kBlock) total += values[n];
  partial[threadIdx.x] = total;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  const Scalar sum = partial[0];
  __syncthreads();  // partial is reused by the next sum
  return sum;
}

template <typename Scalar>
__global__ void finish_loss_kernel(const Scalar* row_loss, const Scalar* row_right, Size rows, Scalar divisor,
                                   Scalar* loss, std::int32_t* status, Scalar* step_log, Size log_capacity) {
  __shared__ Scalar partial[kBlock];
  const Scalar value = block_sum(row_loss, rows, partial) / divisor;
  const Scalar right = row_right ? block_sum(row_right, rows, partial) : Scalar(0);
  if (threadIdx.x == 0) {
    *loss = value;
    if (!isfinite(value) && status[1] < 0) status[1] = status[0];
    ++status[0];
    if (step_log) {
      Scalar* entry = step_log + 2 * (Size(status[2]) % log_capacity);
      entry[0] = value;
      entry[1] = row_right ? right / Scalar(rows) : Scalar(NAN);
      ++status[2];
    }
  }
}

template <typename Scalar>
__global__ void sgd_update_kernel(Scalar* w, const Scalar* g, Size count, const Scalar* hyper,
                                  const std::int32_t* status) {
  if (status[1] >= 0) return;  // training stopped at a NaN/Inf loss
  const Scalar lr = hyper[0];
  for (Size e = thread_index(); e < count; e += thread_stride()) w[e] -= lr * g[e];
}

template <typename Scalar>
__global__ void momentum_update_kernel(Scalar* w, const Scalar* g, Scalar* v, Size count, bool nesterov,
                                       const Scalar* hyper, const std::int32_t* status) {
  if (status[1] >= 0) return;  // training stopped at a NaN/Inf loss
  const Scalar lr = hyper[0], mu = hyper[1];
  for (Size e = thread_index(); e < count; e += thread_stride()) {
    const Scalar velocity = mu * v[e] + g[e];
    v[e] = velocity;
    w[e] -= nesterov ? lr * (g[e] + mu * velocity) : lr * velocity;
  }
}

}  // namespace

template <typename T>
void gather_rows(const T* data, Size cols, const std::int32_t* indices, Size n, T* out, cudaStream_t stream) {
  gather_rows_kernel<<<launch_blocks(n * cols), kBlock, 0, stream>>>(data, cols, indices, n, out);
  check_launch("gather_rows");
}

template <typename Scalar>
void broadcast_row(const Scalar* row, Size rows, Size cols, Scalar* y, cudaStream_t stream) {
  broadcast_row_kernel<<<launch_blocks(rows * cols), kBlock, 0, stream>>>(row, rows, cols, y);
  check_launch("broadcast_row");
}

template <typename Scalar>
void column_sums(const Scalar* dy, Size rows, Size cols, Scalar* sums, cudaStream_t stream) {
  column_sums_kernel<<<launch_blocks(cols), kBlock, 0, stream>>>(dy, rows, cols, sums);
  check_launch("column_sums");
}

template <typename Scalar>
void activation_forward(Activation f, const Scalar* x, Scalar* y, Size count, cudaStream_t stream) {
  activation_forward_kernel<<<launch_blocks(count), kBlock, 0, stream>>>(f, x, y, count);
  check_launch("activation_forward");
}

template <typename Scalar>
void activation_backward(Activation f, const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx, Size count,
                         cudaStream_t stream) {
  activation_backward_kernel<<<launch_blocks(count), kBlock, 0, stream>>>(f, x, y, dy, dx, count);
  check_launch("activation_backward");
}

template <typename Scalar>
void softmax_cross_entropy(const Scalar* z, const std::int32_t* labels, Size rows, Size cols, double log_epsilon,
                           Scalar* dz, Scalar* row_loss, Scalar* row_right, cudaStream_t stream) {
  softmax_cross_entropy_kernel<<<launch_blocks(rows), kBlock, 0, stream>>>(z, labels, rows, cols,
                                                                            Scalar(log_epsilon), dz, row_loss,
                                                                            row_right);
  check_launch("softmax_cross_entropy");
}

template <typename Scalar>
void squared_error(const Scalar* o, const Scalar* t, Size rows, Size cols, Scalar* d, Scalar* row_loss,
                   cudaStream_t stream) {
  squared_error_kernel<<<launch_blocks(rows), kBlock, 0, stream>>>(o, t, rows, cols, d, row_loss);
  check_launch("squared_error");
}

template <typename Scalar>
void finish_loss(const Scalar* row_loss, const Scalar* row_right, Size rows, Scalar divisor, Scalar* loss,
                 std::int32_t* status, Scalar* step_log, Size log_capacity, cudaStream_t stream) {
  finish_loss_kernel<<<1, kBlock, 0, stream>>>(row_loss, row_right, rows, divisor, loss, status, step_log,
                                               log_capacity);
  check_launch("finish_loss");
}

template <typename Scalar>
void sgd_update(Scalar* w, const Scalar* g, Size count, const Scalar* hyper, const std::int32_t* status,
                cudaStream_t stream) {
  sgd_update_kernel<<<launch_blocks(count), kBlock, 0, stream>>>(w, g, count, hyper, status);
  check_launch("sgd_update");
}

template <typename Scalar>
void momentum_update(Scalar* w, const Scalar* g, Scalar* v, Size count, bool nesterov, const Scalar* hyper,
                     const std::int32_t* status, cudaStream_t stream) {
  momentum_update_kernel<<<launch_blocks(count), kBlock, 0, stream>>>(w, g, v, count, nesterov, hyper, status);
  check_launch("momentum_update");
}

#define EIGENNET_CUDA_INSTANTIATE(Scalar)                                                                         \
  template void gather_rows<Scalar>(const Scalar*, Size, const std::int32_t*, Size, Scalar*, cudaStream_t);       \
  template void broadcast_row<Scalar>(const Scalar*, Size, Size, Scalar*, cudaStream_t);                          \
  template void column_sums<Scalar>(const Scalar*, Size, Size, Scalar*, cudaStream_t);                            \
  template void activation_forward<Scalar>(Activation, const Scalar*, Scalar*, Size, cudaStream_t);               \
  template void activation_backward<Scalar>(Activation, const Scalar*, const Scalar*, const Scalar*, Scalar*,     \
                                            Size, cudaStream_t);                                                  \
  template void softmax_cross_entropy<Scalar>(const Scalar*, const std::int32_t*, Size, Size, double, Scalar*,    \
                                              Scalar*, Scalar*, cudaStream_t);                                    \
  template void squared_error<Scalar>(const Scalar*, const Scalar*, Size, Size, Scalar*, Scalar*, cudaStream_t);  \
  template void finish_loss<Scalar>(const Scalar*, const Scalar*, Size, Scalar, Scalar*, std::int32_t*, Scalar*,  \
                                    Size, cudaStream_t);                                                          \
  template void sgd_update<Scalar>(Scalar*, const Scalar*, Size, const Scalar*, const std::int32_t*,              \
                                   cudaStream_t);                                                                 \
  template void momentum_update<Scalar>(Scalar*, const Scalar*, Scalar*, Size, bool, const Scalar*,               \
                                        const std::int32_t*, cudaStream_t);
EIGENNET_CUDA_INSTANTIATE(float)
EIGENNET_CUDA_INSTANTIATE(double)
#undef EIGENNET_CUDA_INSTANTIATE
template void gather_rows<std::int32_t>(const std::int32_t*, Size, const std::int32_t*, Size, std::int32_t*,
                                        cudaStream_t);

}  // namespace kernels
}  // namespace cuda
}  // namespace eigennet

// The small kernels of device training, behind a plain C++ interface: raw device pointers,
// row-major shapes, a stream. No Eigen here (kernels.cu is compiled by nvcc). Each launcher
// queues its kernel on `stream` and throws CudaError if the launch fails.
//
// Matrices are row-major: element (i, j) of an R×C matrix is p[i·C + j].
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace eigennet {
namespace cuda {
namespace kernels {

using Size = std::ptrdiff_t;

// out[i, :] = data[indices[i], :] for i < n; data has `cols` columns. (Batch rows and labels.)
template <typename T>
void gather_rows(const T* data, Size cols, const std::int32_t* indices, Size n, T* out, cudaStream_t stream);

// y[i, :] = row for every i < rows (the "1" column of [X, 1] times the bias row).
template <typename Scalar>
void broadcast_row(const Scalar* row, Size rows, Size cols, Scalar* y, cudaStream_t stream);

// sums[j] = Σ_i dy[i, j]: the bias row of dW = [X, 1]ᵀ·dY (1ᵀ·dY).
template <typename Scalar>
void column_sums(const Scalar* dy, Size rows, Size cols, Scalar* sums, cudaStream_t stream);

enum class Activation { Relu, Sigmoid, Tanh };

// y = f(x), elementwise over `count` entries.
template <typename Scalar>
void activation_forward(Activation f, const Scalar* x, Scalar* y, Size count, cudaStream_t stream);
// dx = f'(x)·dy from the forward input x and output y (the CPU layers' formulas: ReLU mask on
// x > 0, σ' = y(1 − y), tanh' = 1 − y²).
template <typename Scalar>
void activation_backward(Activation f, const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx, Size count,
                         cudaStream_t stream);

// Fused softmax-cross-entropy on logits z (rows×cols) and labels:
//   dz = (softmax(z) − onehot(labels)) / rows,   row_loss[n] = −log p_{n,label}
//   (with log_epsilon > 0: −log(p_{n,label} + log_epsilon)). Softmax subtracts the row max.
//   row_right (may be null): 1 where the row's first maximum is at its label, else 0.
template <typename Scalar>
void softmax_cross_entropy(const Scalar* z, const std::int32_t* labels, Size rows, Size cols, double log_epsilon,
                           Scalar* dz, Scalar* row_loss, Scalar* row_right, cudaStream_t stream);

// Summed squared error on o, t (rows×cols):  d = 2(o − t),  row_loss[n] = Σ_j (o − t)².
template <typename Scalar>
void squared_error(const Scalar* o, const Scalar* t, Size rows, Size cols, Scalar* d, Scalar* row_loss,
                   cudaStream_t stream);

// The step's loss and the divergence guard, one thread block:
//   *loss = Σ_n row_loss[n] / divisor  (N for a mean over the batch, 1 for a sum);
//   status[0] counts the loss evaluations; when the loss is NaN/±Inf and status[1] < 0,
//   status[1] = the evaluation's index (0-based). The updates below do nothing once
//   status[1] ≥ 0, so training stops at the parameters before the first bad step.
//   With a step_log (training steps only): entry status[2] mod log_capacity (two values) gets
//   the loss and the batch's accuracy Σ row_right / rows (NaN without row_right); ++status[2].
template <typename Scalar>
void finish_loss(const Scalar* row_loss, const Scalar* row_right, Size rows, Scalar divisor, Scalar* loss,
                 std::int32_t* status, Scalar* step_log, Size log_capacity, cudaStream_t stream);

// Updates over `count` entries, from the hyper-parameters in device memory (hyper[0] = ε,
// hyper[1] = μ), so a new learning rate needs no new graph:
//   SGD:       w ← w − ε·g
//   momentum:  v ← μ·v + g;  w ← w − ε·v   (Nesterov: w ← w − ε·(g + μ·v))
template <typename Scalar>
void sgd_update(Scalar* w, const Scalar* g, Size count, const Scalar* hyper, const std::int32_t* status,
                cudaStream_t stream);
template <typename Scalar>
void momentum_update(Scalar* w, const Scalar* g, Scalar* v, Size count, bool nesterov, const Scalar* hyper,
                     const std::int32_t* status, cudaStream_t stream);

}  // namespace kernels
}  // namespace cuda
}  // namespace eigennet

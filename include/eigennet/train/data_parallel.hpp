// Data-parallel training steps: one replica of the network per thread, each on its own rows of
// the batch, gradients summed into the network once per step.
//
// Why: a small network (784→64→32→10, batch 100) is made of products too small to split
// (0.2–10 MFLOP each): splitting every product over two threads pays a fork and a barrier per
// product and gains little. Splitting the *batch* instead gives each thread a whole
// forward/backward pass of its own, with one barrier before the gradient sum.
#pragma once

#include <exception>
#include <optional>
#include <vector>

#include "eigennet/copy_rows.hpp"
#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"

namespace eigennet {

// How a batch of `rows` rows is split into `parts` blocks (threads here, MPI ranks in
// mpi/distributed.hpp): block p holds rows [batch_block_begin(p), batch_block_begin(p+1)), i.e.
// ⌈rows·p/parts⌉, so block 0 is never empty and empty blocks, if any, are the last ones.
inline Index batch_block_begin(Index rows, int part, int parts) { return (rows * part + parts - 1) / parts; }
inline Index batch_block_rows(Index rows, int part, int parts) {
  return batch_block_begin(rows, part + 1, parts) - batch_block_begin(rows, part, parts);
}
// A block's weight in the batch's gradient and loss: count/rows for a loss averaged over the
// batch (the batch's mean is the blocks' means so weighted), 1 for a summed loss.
template <typename Scalar>
Scalar batch_block_weight(const Loss<Scalar>& loss, Index count, Index rows) {
  return loss.averages_over_batch() ? Scalar(count) / Scalar(rows) : Scalar(1);
}

// Wraps a network (not owned; it must outlive this object and keep its layers) and `threads`
// − 1 replicas of it. A step on a batch of N rows:
//   1. thread t copies the network's parameters into its replica (thread 0 uses the network
//      itself) and runs forward, loss and backward on its block of rows, n_t = N/T (± 1);
//   2. after one barrier, the network's gradients become the batch's gradients:
//        mean losses (softmax cross-entropy, MSE, ...):  dθ = Σ_t (n_t/N) · dθ_t
//        summed losses (squared error):                   dθ = Σ_t dθ_t
//      since the batch's loss is that same combination of the blocks' losses. Each thread sums
//      a slice of every tensor.
// The result equals the single-network step up to the order of floating-point sums. The
// network's optimizer then steps as usual. Inside a step, gemm() runs on one thread per
// replica. After the first step of the largest batch, a step allocates nothing.
template <typename Scalar>
class DataParallel {
 public:
  // threads ≥ 1; 1 is the plain network's step.
  DataParallel(Network<Scalar>& network, int threads);

  int threads() const { return threads_; }
  Network<Scalar>& network() { return network_; }

  // x: N×input_size, labels: N (or target: N×output_size) → the batch's loss; the network's
  // parameter gradients then hold dL/dθ of the whole batch. Shapes are checked before any
  // thread starts (std::invalid_argument naming them); a bad label is reported after the step
  // by its block's loss, with the block's rows (std::invalid_argument).
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels, const Loss<Scalar>& loss);
  Scalar forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target, const Loss<Scalar>& loss);

  // The same step on rows of a training set: x = set.row(indices[i]) for i < rows, whose labels
  // (rows of them, already gathered) are given. Each thread gathers its own block's rows straight
  // into its replica's input buffer (Network::input_buffer), so the batch is gathered by every
  // thread at once and not copied again. The indices must be valid rows of set.
  // With sgd_rate ε, plain SGD (Sgd's θ ← θ − ε·dθ) is fused into the gradient sum: each thread
  // updates the slice of every parameter it has just summed, unless the batch's loss is NaN or
  // ±Inf; the network's gradients still hold dθ.
  Scalar forward_backward_rows(ConstMatrixRef<Scalar> set, const Index* indices, Index rows, ConstLabelsRef labels,
                               const Loss<Scalar>& loss, std::optional<Scalar> sgd_rate = std::nullopt);
  // The same on a set of bytes, converted as they are gathered (ByteRows, copy_rows.hpp).
  Scalar forward_backward_rows(const ByteRows<Scalar>& set, const Index* indices, Index rows, ConstLabelsRef labels,
                               const Loss<Scalar>& loss, std::optional<Scalar> sgd_rate = std::nullopt);

  // The last step's network output for the whole batch (N×output_size), gathered from the
  // blocks (e.g. for the batch's accuracy).
  ConstMatrixRef<Scalar> output() const { return output_.topRows(rows_); }

 private:
  // Replica t takes block t of batch_block_begin's rule (block 0, the network's own, is never empty).
  Index block_begin(int t, Index rows) const { return batch_block_begin(rows, t, threads_); }
  Index block_rows(int t, Index rows) const { return batch_block_rows(rows, t, threads_); }
  void check_input(const ConstMatrixRef<Scalar>& x) const;
  template <typename Set>
  Scalar step_on_rows(const Set& set, const Index* indices, Index rows, ConstLabelsRef labels,
                      const Loss<Scalar>& loss, std::optional<Scalar> sgd_rate);
  template <typename Step>
  Scalar step(Index rows, const Loss<Scalar>& loss, const Step& replica_step,
              std::optional<Scalar> sgd_rate = std::nullopt);

  Network<Scalar>& network_;
  int threads_;
  std::vector<Network<Scalar>> replicas_;              // threads_ − 1 copies
  std::vector<ParameterList<Scalar>> parameters_;      // [0]: the network's, [t]: replica t's
  std::vector<Scalar> block_losses_;
  Matrix<Scalar> output_;                              // the blocks' outputs, in batch order
  Index rows_ = 0;                                     // rows of the last step
  std::vector<std::exception_ptr> errors_;             // a block's exception, rethrown after the region
};

extern template class DataParallel<float>;
extern template class DataParallel<double>;

}  // namespace eigennet

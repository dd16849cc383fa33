// Data-parallel training steps: one replica of the network per thread, each on its own rows of
// the batch, gradients summed into the network once per step.
//
// Why: a small network (784→64→32→10, batch 100) is made of products too small to split
// (0.2–10 MFLOP each): splitting every product over two threads pays a fork and a barrier per
// product and gains little. Splitting the *batch* instead gives each thread a whole
// forward/backward pass of its own, with one barrier before the gradient sum.
#pragma once

#include <exception>
#include <vector>

#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"

namespace eigennet {

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

  // The last step's network output for the whole batch (N×output_size), gathered from the
  // blocks (e.g. for the batch's accuracy).
  ConstMatrixRef<Scalar> output() const { return output_.topRows(rows_); }

 private:
  // Replica t takes rows [block_begin(t), block_begin(t+1)): ⌈rows·t/T⌉, so block 0 (the
  // network's own) is never empty and empty blocks, if any, are the last ones.
  Index block_begin(int t, Index rows) const { return (rows * t + threads_ - 1) / threads_; }
  Index block_rows(int t, Index rows) const { return block_begin(t + 1, rows) - block_begin(t, rows); }
  void check_input(const ConstMatrixRef<Scalar>& x) const;
  template <typename Step>
  Scalar step(Index rows, const Loss<Scalar>& loss, const Step& replica_step);

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

// Data-parallel training over MPI ranks (-Dmpi, libeigennet_mpi.a; not part of the core, which
// depends on Eigen only). The same split as DataParallel (train/data_parallel.hpp), with ranks
// in place of threads and one MPI_Allreduce in place of the threads' gradient sum.
//
// Every rank holds the whole network and runs the same training loop (train_iterations /
// train_epochs) with the same seed, so every rank draws the same batch indices; the stepper
// below then makes each rank work on its own block of the batch's rows. After the allreduce all
// ranks hold the same gradients, and the optimizer steps identically everywhere, so the
// networks stay identical without ever being sent.
//
// Exactness: the batch's gradient is Σ_r w_r·dθ_r (w_r = n_r/N for mean losses, 1 for summed
// ones), as in DataParallel: equal to the single-process step up to the order of floating-point
// sums (each rank's GEMMs sum over its rows, then the ranks' sums are added), not bit for bit.
#pragma once

#include <mpi.h>

#include <vector>

#include "eigennet/model/loss.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/optimizer.hpp"
#include "eigennet/train/train.hpp"

namespace eigennet::mpi {

// MPI for this process's lifetime: MPI_Init in the constructor (funneled: only the main thread
// calls MPI; OpenMP threads inside a rank are fine), MPI_Finalize in the destructor. Errors on
// MPI_COMM_WORLD are fatal (MPI_ERRORS_ARE_FATAL, set explicitly): a rank that dies or a failed
// call ends the whole job instead of leaving the other ranks waiting.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ends every rank of the job with `code` (MPI_Abort), e.g. after an error on one rank that the
  // others cannot see.
  [[noreturn]] static void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
};

// Where a step's time went, summed over the steps so far (seconds, this rank's clock).
struct StepTiming {
  double step_seconds = 0;       // the whole step(): gather, forward/backward, allreduce, update
  double allreduce_seconds = 0;  // the MPI_Allreduce alone (waiting for the slowest rank included)
  long long steps = 0;
};

// A Stepper (train.hpp) for TrainingHooks::stepper. A step on a batch of N indices, on rank r of R:
//   1. gathers rows [b_r, b_r + n_r) of the batch (batch_block_begin's rule: n_r = N/R ± 1);
//   2. forward, loss, backward on the network (skipped when n_r = 0);
//   3. packs w_r·dθ_r of every parameter, then w_r·loss_r and the block's right answers, into
//      one contiguous buffer (allocated once) and sums it over the ranks with one MPI_Allreduce;
//   4. unpacks the sums into the network's gradients and, unless the (global) loss is NaN or
//      ±Inf, steps the optimizer.
// The step's loss and accuracy are the whole batch's, the same on every rank, so a diverging
// run stops at the same step everywhere. It takes no batch transform (the loops refuse one with
// a stepper): per-batch normalisation over a block would differ from the batch's.
template <typename Scalar>
class DistributedStepper final : public SynchronousStepper<Scalar> {
 public:
  // network, loss, optimizer and train are borrowed and must outlive the stepper. batch_size: the
  // largest batch. comm: the ranks that share the batch (every rank must construct the stepper).
  DistributedStepper(Network<Scalar>& network, const Loss<Scalar>& loss, Optimizer<Scalar>& optimizer,
                     const LabeledData<Scalar>& train, Index batch_size, MPI_Comm comm = MPI_COMM_WORLD);

  void step(const std::vector<Index>& indices) override;

  int rank() const { return rank_; }
  int ranks() const { return ranks_; }
  // Bytes each allreduce sums (the gradients, then the loss and the count of right answers).
  std::size_t buffer_bytes() const { return buffer_.size() * sizeof(Scalar); }
  const StepTiming& timing() const { return timing_; }

 private:
  Network<Scalar>& network_;
  const Loss<Scalar>& loss_;
  const LabeledData<Scalar>& train_;
  Index batch_size_;
  MPI_Comm comm_;
  int rank_ = 0, ranks_ = 1;
  ParameterList<Scalar> parameters_;
  std::vector<Scalar> buffer_;  // [every gradient, in parameters() order][w·loss][right answers]
  Matrix<Scalar> block_x_;      // this rank's rows of the batch
  Labels block_labels_;
  StepTiming timing_;
};

extern template class DistributedStepper<float>;
extern template class DistributedStepper<double>;

}  // namespace eigennet::mpi

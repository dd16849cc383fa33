// train-mnist --mpi: the MPI job the process belongs to, and the stepper that splits each batch
// over its ranks (eigennet/mpi/distributed.hpp). Kept apart from train_mnist.cpp so that tool
// needs a few lines for it: the job, the flag, the agreement after parsing, the stepper, the
// abort on an error.
//
// Every rank runs the whole program with the same arguments: the same seed draws the same
// initial weights and the same batches everywhere, and each rank trains on its block of every
// batch. Rank 0 alone writes (checkpoint, log, plots, stdout); the other ranks' stdout goes to
// /dev/null, their stderr stays (errors).
//
// Without MPI in the build (-Dmpi, EIGENNET_HAVE_MPI) --mpi still parses, and using it fails
// with a message saying MPI is not in this build.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "eigennet/train/train.hpp"
#include "format.hpp"
#ifdef EIGENNET_HAVE_MPI
#include "eigennet/mpi/distributed.hpp"
#endif

namespace eigennet::tools {

class MpiJob {
 public:
  // Joins the job (MPI_Init) when the command line holds --mpi, before it is parsed, so that a
  // bad command line on any rank can end every rank (agree_to_stop). Otherwise a job of one
  // rank that does nothing.
  MpiJob(int& argc, char**& argv) {
    bool asked = false;
    for (int i = 1; i < argc; ++i) asked = asked || std::string(argv[i]) == "--mpi";
#ifdef EIGENNET_HAVE_MPI
    if (!asked) return;
    environment_.emplace(argc, argv);
    if (environment_->rank() > 0 && !std::freopen("/dev/null", "w", stdout))
      std::fprintf(stderr, "train-mnist: rank %d could not silence stdout\n", environment_->rank());
#else
    (void)asked;
#endif
  }

  static bool built() {
#ifdef EIGENNET_HAVE_MPI
    return true;
#else
    return false;
#endif
  }
  bool active() const { return rank_count() > 0; }
  int rank() const {
#ifdef EIGENNET_HAVE_MPI
    if (environment_) return environment_->rank();
#endif
    return 0;
  }
  int size() const { return active() ? rank_count() : 1; }

  // Every rank calls it once after parsing its command line: `stop` when it must not go on (a
  // bad argument, --help) with its exit code. Then all ranks stop when any does, with the
  // largest code, and only the lowest rank that stopped (`report`) prints its message: a bad
  // argument given to every rank is said once, one given to one rank ends all of them.
  struct Verdict {
    bool stop = false;
    int code = 0;
    bool report = true;
  };
  Verdict agree_to_stop(bool stop, int code) const {
    Verdict v{stop, code, stop};
#ifdef EIGENNET_HAVE_MPI
    if (!environment_) return v;
    int first = stop ? rank() : environment_->size();
    int lowest = 0, largest = 0;
    MPI_Allreduce(&first, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&code, &largest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    v.stop = lowest < environment_->size();
    v.code = largest;
    v.report = lowest == rank();
#endif
    return v;
  }

  // An error on this rank: ends every rank of the job with `code` (the others may be waiting for
  // it inside a step). Returns `code` when there is no job.
  int abort(int code) const {
#ifdef EIGENNET_HAVE_MPI
    std::fflush(stdout);
    std::fflush(stderr);
    if (environment_ && environment_->size() > 1) mpi::Environment::abort(code);
#endif
    return code;
  }

  // The stepper for a run: a DistributedStepper over the job's ranks; null without a job.
  template <typename Scalar>
  std::unique_ptr<Stepper<Scalar>> make_stepper(Network<Scalar>& network, const Loss<Scalar>& loss,
                                                Optimizer<Scalar>& optimizer, const LabeledData<Scalar>& train,
                                                Index batch_size) const {
#ifdef EIGENNET_HAVE_MPI
    if (environment_)
      return std::make_unique<mpi::DistributedStepper<Scalar>>(network, loss, optimizer, train, batch_size);
#else
    (void)network, (void)loss, (void)optimizer, (void)train, (void)batch_size;
#endif
    return nullptr;
  }

  // One line on where this rank's step time went (the bench's numbers): empty for another stepper.
  template <typename Scalar>
  static std::string step_report(const Stepper<Scalar>* stepper) {
#ifdef EIGENNET_HAVE_MPI
    const auto* d = dynamic_cast<const mpi::DistributedStepper<Scalar>*>(stepper);
    if (!d || d->timing().steps == 0) return "";
    const mpi::StepTiming& t = d->timing();
    const double steps = double(t.steps);
    return format("mpi: %d ranks, %.3f ms/step (test passes excluded), allreduce %.3f ms/step (%.1f%%) of %.2f MB",
                  d->ranks(), 1000 * t.step_seconds / steps, 1000 * t.allreduce_seconds / steps,
                  100 * t.allreduce_seconds / t.step_seconds, double(d->buffer_bytes()) / 1e6);
#else
    (void)stepper;
    return "";
#endif
  }

 private:
  int rank_count() const {
#ifdef EIGENNET_HAVE_MPI
    if (environment_) return environment_->size();
#endif
    return 0;
  }
#ifdef EIGENNET_HAVE_MPI
  std::optional<mpi::Environment> environment_;
#endif
};

}  // namespace eigennet::tools

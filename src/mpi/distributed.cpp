#include "eigennet/mpi/distributed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "eigennet/train/data_parallel.hpp"

namespace eigennet::mpi {

namespace {

// Throws std::runtime_error naming the call when an MPI call fails (reached only where the
// communicator's handler returns errors; MPI_COMM_WORLD's is fatal).
void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string("MPI: ") + call + " failed: " + std::string(text, std::size_t(length)));
}

template <typename Scalar>
MPI_Datatype datatype();
template <>
MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::logic_error("MPI: the environment is already initialised");
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // The default for MPI_COMM_WORLD, said here so that no one relaxes it unknowingly: with errors
  // returned, a dead peer could leave the other ranks inside a collective.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

Environment::~Environment() { MPI_Finalize(); }

void Environment::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this satisfies [[noreturn]]
}

template <typename Scalar>
DistributedStepper<Scalar>::DistributedStepper(Network<Scalar>& network, const Loss<Scalar>& loss,
                                               Optimizer<Scalar>& optimizer, const LabeledData<Scalar>& train,
                                               Index batch_size, MPI_Comm comm)
    : SynchronousStepper<Scalar>(optimizer), network_(network), loss_(loss), train_(train), batch_size_(batch_size),
      comm_(comm) {
  if (batch_size < 1)
    throw std::invalid_argument("distributed: batch size must be ≥ 1, got " + std::to_string(batch_size));
  if (train.empty()) throw std::invalid_argument("distributed: the training set is empty");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &ranks_), "MPI_Comm_size");
  parameters_ = network_.parameters();
  std::size_t count = 2;  // the weighted loss and the right answers
  for (const auto& p : parameters_) count += std::size_t(p.gradient->size());
  buffer_.assign(count, Scalar(0));
  // Every step's shapes, allocated once: this rank's largest block.
  const Index largest = batch_block_rows(batch_size, 0, ranks_);
  block_x_.resize(largest, network_.input_size());
  block_labels_.resize(largest);
  network_.reserve(std::max(network_.reserved_batch(), largest));
}

// indices: the batch's N rows of the training set, the same on every rank → this rank's block
// n_r×D forward and backward, the gradients summed over the ranks, the update.
template <typename Scalar>
void DistributedStepper<Scalar>::step(const std::vector<Index>& indices) {
  const double start = MPI_Wtime();
  const Index rows = static_cast<Index>(indices.size());
  if (rows < 1 || rows > batch_size_)
    throw std::invalid_argument("distributed: a batch of " + std::to_string(rows) + " rows, expected 1.." +
                                std::to_string(batch_size_));
  const Index begin = batch_block_begin(rows, rank_, ranks_), count = batch_block_rows(rows, rank_, ranks_);
  const Scalar weight = batch_block_weight(loss_, count, rows);

  Scalar* out = buffer_.data();
  Scalar block_loss = 0, right = 0;
  if (count > 0) {
    gather_batch<Scalar>(train_, indices, begin, count, block_x_, block_labels_);
    block_loss = network_.forward_backward(block_x_.topRows(count), block_labels_.head(count), loss_);
    right = Scalar(std::llround(accuracy<Scalar>(network_.output(), block_labels_.head(count)) * double(count)));
    for (const auto& p : parameters_) {
      const Index size = p.gradient->size();
      Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(out, size) =
          weight * Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(p.gradient->data(), size);
      out += size;
    }
  } else {  // an empty block (fewer rows than ranks): adds nothing
    std::fill(buffer_.begin(), buffer_.end() - 2, Scalar(0));
    out = buffer_.data() + buffer_.size() - 2;
  }
  out[0] = weight * block_loss;
  out[1] = right;

  const double reduce_start = MPI_Wtime();
  check(MPI_Allreduce(MPI_IN_PLACE, buffer_.data(), static_cast<int>(buffer_.size()), datatype<Scalar>(), MPI_SUM,
                      comm_),
        "MPI_Allreduce");
  timing_.allreduce_seconds += MPI_Wtime() - reduce_start;

  const Scalar* in = buffer_.data();
  for (const auto& p : parameters_) {
    const Index size = p.gradient->size();
    Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(p.gradient->data(), size) =
        Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(in, size);
    in += size;
  }
  StepResult result;
  result.loss = double(in[0]);
  result.accuracy = double(in[1]) / double(rows);
  result.rows = rows;
  this->finish_step(result);  // a non-finite loss is the same on every rank: it is the sum
  timing_.step_seconds += MPI_Wtime() - start;
  ++timing_.steps;
}

template class DistributedStepper<float>;
template class DistributedStepper<double>;

}  // namespace eigennet::mpi

#include "eigennet/train/data_parallel.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>

#include "eigennet/train/train.hpp"
#include "gemm/parallel_for.hpp"

namespace eigennet {

template <typename Scalar>
DataParallel<Scalar>::DataParallel(Network<Scalar>& network, int threads) : network_(network), threads_(threads) {
  if (threads < 1) throw std::invalid_argument("data-parallel: threads must be ≥ 1, got " + std::to_string(threads));
#ifndef _OPENMP
  threads_ = 1;  // built without OpenMP: the plain step
#endif
  network_.input_size();  // throws on a network without layers
  replicas_.reserve(static_cast<std::size_t>(threads_ - 1));
  for (int t = 1; t < threads_; ++t) replicas_.push_back(network_.clone());
  parameters_.push_back(network_.parameters());
  for (auto& replica : replicas_) parameters_.push_back(replica.parameters());
  block_losses_.assign(static_cast<std::size_t>(threads_), Scalar(0));
  errors_.assign(static_cast<std::size_t>(threads_), nullptr);
}

// replica_step(net, begin, count) runs forward, loss and backward of rows [begin, begin+count)
// on `net` and returns that block's loss.
template <typename Scalar>
template <typename Step>
Scalar DataParallel<Scalar>::step(Index rows, const Loss<Scalar>& loss, const Step& replica_step,
                                  std::optional<Scalar> sgd_rate) {
  if (rows <= 0) throw std::invalid_argument("data-parallel: empty batch (0 rows)");
  if (output_.rows() < rows) output_.resize(rows, network_.output_size());  // the largest batch, once
  rows_ = rows;
  // With fewer rows than threads, the last threads get empty blocks and sit the step out.
  const auto weight = [&](int t) { return batch_block_weight(loss, block_rows(t, rows), rows); };
  std::fill(errors_.begin(), errors_.end(), nullptr);

  const auto run_block = [&](int t) {
    const Index begin = block_begin(t, rows), count = block_rows(t, rows);
    if (count == 0) return;
    try {
      Network<Scalar>& net = t == 0 ? network_ : replicas_[static_cast<std::size_t>(t - 1)];
      if (t > 0) {
        const auto& source = parameters_[0];
        const auto& target = parameters_[static_cast<std::size_t>(t)];
        for (std::size_t p = 0; p < source.size(); ++p) *target[p].value = *source[p].value;
      }
      block_losses_[static_cast<std::size_t>(t)] = replica_step(net, begin, count);
      output_.middleRows(begin, count) = net.output();
    } catch (const std::invalid_argument& e) {  // e.g. a label out of range: say which rows
      errors_[static_cast<std::size_t>(t)] = std::make_exception_ptr(std::invalid_argument(
          "data-parallel block of rows [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
          "): " + e.what()));
    } catch (...) {  // an exception must not leave an OpenMP region: rethrown after it
      errors_[static_cast<std::size_t>(t)] = std::current_exception();
    }
  };
  // One block per thread.
  parallel_for(threads_, threads_, [&](Index t, int) { run_block(static_cast<int>(t)); });
  for (const auto& error : errors_)
    if (error) std::rethrow_exception(error);
  Scalar total = 0;
  for (int t = 0; t < threads_; ++t)
    if (block_rows(t, rows) > 0) total += weight(t) * block_losses_[static_cast<std::size_t>(t)];
  const bool update = sgd_rate.has_value() && std::isfinite(total);

  // Thread t sums the slice t of every tensor: dθ = Σ_r w_r dθ_r into the network's gradient,
  // and with the fused update, θ ← θ − ε·dθ on that slice while it is in cache.
  const auto reduce_slice = [&](int t) {
    for (std::size_t p = 0; p < parameters_[0].size(); ++p) {
      Matrix<Scalar>& sum = *parameters_[0][p].gradient;
      const Index size = sum.size(), begin = size * t / threads_, end = size * (t + 1) / threads_;
      if (begin == end) continue;
      auto out = Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(sum.data() + begin, end - begin);
      out *= weight(0);
      for (int r = 1; r < threads_; ++r) {
        if (block_rows(r, rows) == 0) continue;  // empty block: no gradient
        const Matrix<Scalar>& part = *parameters_[static_cast<std::size_t>(r)][p].gradient;
        out += weight(r) * Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(part.data() + begin, end - begin);
      }
      if (update)
        Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(parameters_[0][p].value->data() + begin, end - begin) -=
            *sgd_rate * out;
    }
  };
  // Once every block has its gradient, one slice of the sum per thread.
  if (threads_ > 1 || update) parallel_for(threads_, threads_, [&](Index t, int) { reduce_slice(static_cast<int>(t)); });
  return total;
}

template <typename Scalar>
void DataParallel<Scalar>::check_input(const ConstMatrixRef<Scalar>& x) const {
  require_cols(x, network_.input_size(), "data-parallel: input X");
}

template <typename Scalar>
Scalar DataParallel<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstLabelsRef labels,
                                              const Loss<Scalar>& loss) {
  check_input(x);
  require_labels(labels.size(), x.rows(), "data-parallel");
  return step(x.rows(), loss, [&](Network<Scalar>& net, Index begin, Index count) {
    return net.forward_backward(x.middleRows(begin, count), labels.segment(begin, count), loss);
  });
}

template <typename Scalar>
Scalar DataParallel<Scalar>::forward_backward(ConstMatrixRef<Scalar> x, ConstMatrixRef<Scalar> target,
                                              const Loss<Scalar>& loss) {
  check_input(x);
  require_shape(target, x.rows(), network_.output_size(), "data-parallel: target");
  return step(x.rows(), loss, [&](Network<Scalar>& net, Index begin, Index count) {
    return net.forward_backward(x.middleRows(begin, count), target.middleRows(begin, count), loss);
  });
}

template <typename Scalar>
Scalar DataParallel<Scalar>::forward_backward_rows(ConstMatrixRef<Scalar> set, const Index* indices, Index rows,
                                                   ConstLabelsRef labels, const Loss<Scalar>& loss,
                                                   std::optional<Scalar> sgd_rate) {
  check_input(set);
  return step_on_rows(set, indices, rows, labels, loss, sgd_rate);
}

template <typename Scalar>
Scalar DataParallel<Scalar>::forward_backward_rows(const ByteRows<Scalar>& set, const Index* indices, Index rows,
                                                   ConstLabelsRef labels, const Loss<Scalar>& loss,
                                                   std::optional<Scalar> sgd_rate) {
  if (!set.bytes) throw std::invalid_argument("data-parallel: the byte rows have no bytes");
  require_cols(set, network_.input_size(), "data-parallel: input X");
  return step_on_rows(set, indices, rows, labels, loss, sgd_rate);
}

// set: a matrix or ByteRows, its width checked.
template <typename Scalar>
template <typename Set>
Scalar DataParallel<Scalar>::step_on_rows(const Set& set, const Index* indices, Index rows, ConstLabelsRef labels,
                                          const Loss<Scalar>& loss, std::optional<Scalar> sgd_rate) {
  require_labels(labels.size(), rows, "data-parallel");
  return step(
      rows, loss,
      [&](Network<Scalar>& net, Index begin, Index count) {
        MatrixRef<Scalar> x = net.input_buffer(count);
        copy_rows<Scalar>(set, indices + begin, count, x);
        return net.forward_backward(x, labels.segment(begin, count), loss);
      },
      sgd_rate);
}

template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace eigennet

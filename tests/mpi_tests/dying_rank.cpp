// A job in which the last rank dies (SIGKILL, no chance to say goodbye) in the middle of
// training with DistributedStepper, while the others wait for it in the step's MPI_Allreduce.
// test_mpi_tool.cpp runs it under mpirun and a timeout: the job must end, non-zero, saying which
// rank died, instead of hanging. Exit 0 only if training finished, which it must not.
#include <csignal>
#include <cstdio>
#include <numeric>

#include "eigennet/eigennet.hpp"
#include "eigennet/mpi/distributed.hpp"
#include "eigennet/threads.hpp"

using namespace eigennet;

int main(int argc, char** argv) {
  mpi::Environment environment(argc, argv);
  set_thread_count(1);
  Matrix<float> x = Matrix<float>::Ones(64, 8);
  Labels labels = Labels::Zero(64);
  const LabeledData<float> data(x, labels);
  Network<float> net;
  net.emplace<Dense<float>>(8, 4);
  SoftmaxCrossEntropy<float> loss;
  Sgd<float> optimizer(net.parameters(), 0.1);
  mpi::DistributedStepper<float> stepper(net, loss, optimizer, data, 64);
  std::vector<Index> batch(64);
  std::iota(batch.begin(), batch.end(), Index(0));
  for (int step = 1; step <= 1000000; ++step) {
    if (step == 3 && environment.rank() == environment.size() - 1) {
      std::fprintf(stderr, "dying-rank: rank %d kills itself at step %d\n", environment.rank(), step);
      std::raise(SIGKILL);
    }
    stepper.step(batch);
  }
  std::printf("dying-rank: training finished (the dead rank was not noticed)\n");
  return 0;
}

// A user's own program, built outside the eigennet tree with
//   g++ -std=c++17 consumer.cpp $(pkg-config --cflags --libs eigennet)
// It trains a tiny XOR network and checks its own gradients with the library's checker.
#include <eigennet/eigennet.hpp>
#include <iostream>

int main() {
  using namespace eigennet;
  RandomState rng(0);
  Network<double> net;
  initialize(net.emplace<Dense<double>>(2, 8), rng, {InitScheme::Normal, 0, 1});
  net.emplace<Tanh<double>>(8);
  initialize(net.emplace<Dense<double>>(8, 2), rng, {InitScheme::Normal, 0, 1});

  Matrix<double> x(4, 2);
  x << 0, 0, 0, 1, 1, 0, 1, 1;
  Labels y(4);
  y << 0, 1, 1, 0;
  SoftmaxCrossEntropy<double> loss;
  if (!check_network<double>(net, x, y, loss).passed()) {
    std::cerr << "gradient check failed\n";
    return 1;
  }
  Sgd<double> sgd(net.parameters(), 0.5);
  double value = 0;
  for (int step = 0; step < 2000; ++step) {
    value = net.forward_backward(x, y, loss);
    sgd.step();
  }
  std::cout << "XOR loss after 2000 steps: " << value << "\n";
  return value < 0.05 ? 0 : 1;
}

// denoise-cosine: the course's first exercise, built from eigennet's own layers and loss.
//
// A cosine of n samples; every training step adds fresh Gaussian noise to it, and that noisy
// signal x is both the network's input and its target. The network, in the course's notation
// (x a column of n values):
//     o = W2·σ(W1·x + b),   W1: hidden×n,  b: hidden,  W2: n×hidden (no output bias),
// cost Σ (o − x)² (summed), plain gradient descent. A bottleneck of a few sigmoid units cannot
// copy the fresh noise, so the output settles on what every step has in common: the cosine.
//
// eigennet keeps a sample in a ROW (1×n), so the same network is o = σ(x·W1ᵀ + bᵀ)·W2ᵀ:
//     layer0  Dense(n, hidden)          W = [W1ᵀ; bᵀ]  ((n+1)×hidden, the bias b is the last row)
//     layer1  Sigmoid(hidden)
//     layer2  Dense(hidden, n, no bias) W = W2ᵀ       (hidden×n)
//     loss    SquaredError (Σ (o − t)², gradient 2(o − t)),  optimizer Sgd (W ← W − lr·dW).
//
// Draw order (one eigennet::RandomState(seed), numpy's legacy generator): W1 as numpy draws an
// array of shape (hidden, n), then b (hidden), then W2 (n, hidden) — normal(0, 0.5) each, or
// uniform(−0.1, 0.1) with --init uniform — each then transposed into place; then n noise values
// per step, in step order; then n for the final evaluation signal. So
//     rng = np.random.RandomState(seed); W1 = rng.normal(0, .5, (hidden, n)); b = rng.normal(0, .5, hidden)
//     W2 = rng.normal(0, .5, (n, hidden)); each step: x = clean + rng.normal(0, noise_std, n)
// gives the same numbers in numpy.
//
// The signal: clean_i = cos(2π·(i − (n−1)/2) / period), i = 0..n−1, period in samples; the
// default period (n−1)/3 makes it the course's cos(linspace(−3π, 3π, n)).
//
// At the end a fresh noisy signal (not seen in training) goes through the network, and the tool
// prints the mean squared error of the output against the clean cosine next to that of the noisy
// input. Exit status: 0, 1 if the cost became NaN/Inf or a plot failed, CLI11's on bad flags.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "eigennet/eigennet.hpp"
#ifdef EIGENNET_HAVE_PLOTS
#include "eigennet/plot/plot.hpp"
#endif

using namespace eigennet;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Config {
  Index samples = 200;
  double period = 0;  // 0: (samples − 1)/3
  Index hidden = 10;
  double noise_std = 1.0;
  int steps = 100;
  double lr = 0.02;
  std::string init = "normal";
  std::uint32_t seed = 42;
  std::string plot_path;
  bool show = false;
};

// The course's parameter in its own shape (rows × cols), drawn as numpy draws it, transposed
// into `target` (cols × rows, or a block of it).
template <typename Target>
void draw_transposed(Target&& target, Index rows, Index cols, RandomState& rng, const Config& config) {
  Matrix<double> course(rows, cols);
  if (config.init == "normal")
    rng.fill_normal(course, 0.0, 0.5);
  else
    rng.fill_uniform(course, -0.1, 0.1);
  target = course.transpose();
}

#ifdef EIGENNET_HAVE_PLOTS
int plot_result(const Config& config, const Matrix<double>& t, const Matrix<double>& clean,
                const Matrix<double>& noisy, ConstMatrixRef<double> output) {
  auto row = [](const auto& m) { return std::vector<double>(m.data(), m.data() + m.size()); };
  const std::vector<double> x = row(t);
  std::vector<plot::Series> series = {
      {"noisy input", x, row(noisy), "lines lw 1 lc rgb '#a0a0a0'"},
      {"clean cosine", x, row(clean), "lines lw 2.5 lc rgb '#1f77b4'"},
      {"network output", x, std::vector<double>(output.data(), output.data() + output.size()),
       "points pt 2 ps 0.9 lc rgb '#d62728'"},
  };
  plot::PlotOptions options;
  options.show = config.show;
  options.x_label = "t (radians)";
  options.y_label = "signal";
  char title[200];
  std::snprintf(title, sizeof title, "Denoising a cosine: %lld hidden sigmoid units, %d steps, lr %g, noise std %g",
                static_cast<long long>(config.hidden), config.steps, config.lr, config.noise_std);
  options.title = title;
  try {
    plot::plot_series(series, config.plot_path, options);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "denoise-cosine: " << e.what() << "\n";
    return 1;
  }
  std::printf("plot written to %s\n", config.plot_path.c_str());
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  Config config;
  CLI::App app{"denoise-cosine: a one-hidden-layer sigmoid network, o = W2·σ(W1·x + b), learns to denoise a "
               "cosine from noisy copies of it (input = target = clean cosine + fresh noise each step), by plain "
               "gradient descent on the summed squared error. Prints the cost per step, then the MSE of the "
               "output and of the noisy input against the clean cosine."};
  app.add_option("--samples", config.samples, "Samples n of the signal")->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  app.add_option("--period", config.period, "Cosine period in samples (default (n−1)/3: cos over linspace(−3π, 3π, n))")
      ->check(CLI::PositiveNumber);
  app.add_option("--hidden", config.hidden, "Hidden sigmoid units")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--noise-std", config.noise_std, "Standard deviation of the Gaussian noise added each step")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--steps", config.steps, "Gradient-descent updates")->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--lr", config.lr, "Step size of gradient descent")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--init", config.init, "Initial W1, b, W2: normal (0, 0.5) or uniform (−0.1, 0.1)")
      ->check(CLI::IsMember({"normal", "uniform"}))->capture_default_str();
  app.add_option("--seed", config.seed, "Seed of the weights and the noise (numpy RandomState)")->capture_default_str();
#ifdef EIGENNET_HAVE_PLOTS
  auto* plot_option = app.add_option("--plot", config.plot_path,
                                     "Write noisy input, clean cosine and network output to this PNG (gnuplot)");
  app.add_flag("--show", config.show, "Also show the plot in a window (needs $DISPLAY)")->needs(plot_option);
#else
  app.footer("Plotting (--plot, --show) is not in this build: eigennet was configured without gnuplot-iostream "
             "(-Dplots=disabled, or it was missing: apt-get install libgnuplot-iostream-dev gnuplot-nox "
             "libboost-iostreams-dev libboost-filesystem-dev, then reconfigure).");
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--plot", 6) == 0 || std::strcmp(argv[i], "--show") == 0) {
      std::cerr << "denoise-cosine: " << argv[i] << ": " << app.get_footer() << "\n";
      return 2;
    }
#endif
  CLI11_PARSE(app, argc, argv);

  const Index n = config.samples, hidden = config.hidden;
  const double period = config.period > 0 ? config.period : double(n - 1) / 3.0;

  // The signal, one row: t_i = 2π(i − (n−1)/2)/period and clean_i = cos(t_i).
  Matrix<double> t(1, n), clean(1, n), noisy(1, n);
  for (Index i = 0; i < n; ++i) {
    t(0, i) = 2.0 * kPi * (double(i) - double(n - 1) / 2.0) / period;
    clean(0, i) = std::cos(t(0, i));
  }

  Network<double> net;
  auto& encoder = net.emplace<Dense<double>>(n, hidden);  // [W1ᵀ; bᵀ]
  net.emplace<Sigmoid<double>>(hidden);
  auto& decoder = net.emplace<Dense<double>>(hidden, n, false);  // W2ᵀ
  net.reserve(1);

  RandomState rng(config.seed);
  draw_transposed(encoder.weights().topRows(n), hidden, n, rng, config);   // W1: hidden×n
  draw_transposed(encoder.weights().bottomRows(1), hidden, 1, rng, config);  // b: hidden
  draw_transposed(decoder.weights(), n, hidden, rng, config);             // W2: n×hidden

  std::printf("denoise-cosine: n = %lld, period %.6g samples, noise std %g, init %s, seed %u\n",
              static_cast<long long>(n), period, config.noise_std, config.init.c_str(), config.seed);
  std::printf("%s", net.summary().c_str());
  std::printf("loss: squared error, summed; optimizer: gradient descent, lr %g, %d steps\n", config.lr, config.steps);

  SquaredError<double> cost;
  Sgd<double> sgd(net.parameters(), config.lr);
  auto draw_noisy = [&] {
    for (Index i = 0; i < n; ++i) noisy(0, i) = clean(0, i) + rng.normal(0.0, config.noise_std);
  };
  for (int step = 1; step <= config.steps; ++step) {
    draw_noisy();
    const double c = net.forward_backward(noisy, noisy, cost);  // input = target = the noisy signal
    if (!std::isfinite(c)) {
      std::fflush(stdout);
      std::fprintf(stderr,
                   "denoise-cosine: the cost became %g at step %d (diverged: try a smaller --lr than %g)\n", c,
                   step, config.lr);
      return 1;
    }
    std::printf("step %d cost %.10g\n", step, c);
    sgd.step();
  }

  // Evaluation on a fresh noisy signal: how far are the output and the input from the cosine?
  draw_noisy();
  ConstMatrixRef<double> output = net.forward(noisy);
  const double mse_output = (output - clean).squaredNorm() / double(n);
  const double mse_noisy = (noisy - clean).squaredNorm() / double(n);
  if (!std::isfinite(mse_output)) {
    std::fflush(stdout);
    std::fprintf(stderr, "denoise-cosine: the network output is not finite (MSE %g)\n", mse_output);
    return 1;
  }
  std::printf("MSE against the clean cosine: network output %.10g, noisy input %.10g (ratio %.3f)\n", mse_output,
              mse_noisy, mse_noisy > 0 ? mse_output / mse_noisy : 0.0);

#ifdef EIGENNET_HAVE_PLOTS
  if (!config.plot_path.empty()) return plot_result(config, t, clean, noisy, output);
#endif
  return 0;
}

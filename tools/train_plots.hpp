// train-mnist's pictures: --plot (training progress), --plot-samples (a test-set collage with
// true and predicted labels), --show. Kept apart from train_mnist.cpp so that tool needs three
// lines for them: the flags, the call after training, and this include.
//
// Without the plot library (meson option plots=auto and gnuplot-iostream missing) the flags still
// parse, and using one fails with a message saying plotting is not in this build.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "eigennet/data/mnist.hpp"
#include "eigennet/model/network.hpp"
#include "eigennet/train/train.hpp"
#include "format.hpp"
#ifdef EIGENNET_HAVE_PLOTS
#include "eigennet/plot/plot.hpp"
#endif

namespace eigennet::tools {

struct PlotFlags {
  std::string progress_path;  // --plot
  std::string samples_path;   // --plot-samples
  int grid_rows = 5, grid_cols = 8;
  bool misclassified_first = false;
  bool show = false;
};

inline const char* plots_not_built_message() {
  return "plotting is not in this build: eigennet was configured without gnuplot-iostream (-Dplots=disabled, "
         "or it was missing: apt-get install libgnuplot-iostream-dev gnuplot-nox libboost-iostreams-dev "
         "libboost-filesystem-dev, then reconfigure)";
}

inline void define_plot_flags(CLI::App& app, PlotFlags& f) {
#ifdef EIGENNET_HAVE_PLOTS
  auto* plot = app.add_option("--plot", f.progress_path,
                              "write the training progress (loss; train/validation/test accuracy) to this PNG");
  auto* samples = app.add_option("--plot-samples", f.samples_path,
                                 "write a collage of test images with true and predicted labels to this PNG");
  app.add_option("--plot-rows", f.grid_rows, "rows of the --plot-samples collage")
      ->check(CLI::Range(1, 100))->capture_default_str()->needs(samples);
  app.add_option("--plot-cols", f.grid_cols, "columns of the --plot-samples collage")
      ->check(CLI::Range(1, 100))->capture_default_str()->needs(samples);
  app.add_flag("--misclassified-first", f.misclassified_first,
               "--plot-samples shows the misclassified test images first (then the others, in test-set order)")
      ->needs(samples);
  app.add_flag("--show", f.show, "also show the plots in windows (needs $DISPLAY)");
  if (auto* eval_only = app.get_option_no_throw("--eval-only")) plot->excludes(eval_only);  // no history to draw
  // --show wants at least one of the two pictures (needs() would ask for both): checked after parsing.
  app.parse_complete_callback([&f] {
    if (f.show && f.progress_path.empty() && f.samples_path.empty())
      throw CLI::ValidationError("--show", "--show draws the --plot or --plot-samples pictures: give one of them");
  });
#else
  (void)f;
  for (const char* name : {"--plot", "--plot-samples", "--plot-rows", "--plot-cols"})
    app.add_option_function<std::string>(
        name, [name](const std::string&) { throw CLI::ValidationError(name, plots_not_built_message()); },
        "(not in this build: no gnuplot-iostream)");
  for (const char* name : {"--misclassified-first", "--show"})
    app.add_flag_callback(
        name, [name] { throw CLI::ValidationError(name, plots_not_built_message()); },
        "(not in this build: no gnuplot-iostream)");
#endif
}

#ifdef EIGENNET_HAVE_PLOTS

// The history as curves. The epoch loop is drawn against epochs (a step at s/steps-per-epoch),
// the iteration loop against steps. Accuracies in %.
inline void plot_progress(const PlotFlags& f, const TrainingHistory& h, const std::string& title) {
  const bool by_epoch = !h.epoch_end_step.empty();
  const double steps_per_epoch = by_epoch ? h.epoch_end_step.front() : 1.0;
  auto x_of = [&](double step) { return step / steps_per_epoch; };
  auto percent = [](std::vector<double> v) {
    for (double& a : v) a *= 100;
    return v;
  };
  auto at_steps = [&](const std::vector<double>& steps) {
    std::vector<double> x;
    for (double s : steps) x.push_back(x_of(s));
    return x;
  };
  std::vector<double> every_step;
  for (Index s = 1; s <= h.steps(); ++s) every_step.push_back(x_of(double(s)));

  using plot::Series;
  std::vector<Series> losses = {{"train loss (per step)", every_step, h.loss, "lines lw 1 lc rgb '#9ab0d0'"}};
  std::vector<Series> accuracies;
  if (by_epoch) {
    losses.push_back({"train loss (epoch mean)", at_steps(h.epoch_end_step), h.epoch_loss, "linespoints lw 2 pt 7"});
    if (!h.validation_loss.empty())
      losses.push_back({"validation loss", at_steps(h.epoch_end_step), h.validation_loss, "linespoints lw 2 pt 5"});
    accuracies.push_back({"train", at_steps(h.epoch_end_step), percent(h.epoch_accuracy), ""});
    if (!h.validation_accuracy.empty())
      accuracies.push_back({"validation", at_steps(h.epoch_end_step), percent(h.validation_accuracy), ""});
  } else {
    accuracies.push_back({"train (batch)", every_step, percent(h.batch_accuracy), "lines lw 1 lc rgb '#9ab0d0'"});
    if (!h.validation_accuracy.empty())
      accuracies.push_back({"validation", at_steps(h.test_step), percent(h.validation_accuracy), ""});
  }
  if (!h.test_loss.empty() && !by_epoch)
    losses.push_back({"test loss", at_steps(h.test_step), h.test_loss, "linespoints lw 2 pt 7"});
  accuracies.push_back({"test", at_steps(h.test_step), percent(h.test_accuracy), ""});

  plot::PlotOptions options;
  options.title = title;
  options.x_label = by_epoch ? "epoch" : "step";
  options.accuracy_label = "accuracy (%)";
  options.show = f.show;
  plot::plot_training_progress(losses, accuracies, f.progress_path, options);
  std::printf("training progress plot written to %s\n", f.progress_path.c_str());
}

// Predicted class of every test image (batched forward, arg-max; the same batch transform as in
// training), then the first rows×cols images, misclassified ones first on request.
template <typename Scalar>
void plot_samples(const PlotFlags& f, Network<Scalar>& net, const LabeledData<Scalar>& test, const ImageSet& test_set,
                  const BatchTransform<Scalar>& transform, const std::string& title) {
  const Index n = test.size(), batch = 1000;
  std::vector<int> predicted(std::size_t(n), 0);
  Matrix<Scalar> buffer(std::min(batch, n), test.cols());
  for (Index start = 0; start < n; start += batch) {
    const Index rows = std::min(batch, n - start);
    test.copy_inputs(start, rows, buffer.topRows(rows));
    if (transform) transform(buffer.topRows(rows));
    ConstMatrixRef<Scalar> scores = net.forward(buffer.topRows(rows));
    for (Index r = 0; r < rows; ++r) {
      Index best = 0;
      scores.row(r).maxCoeff(&best);  // ties: the first maximum, as numpy's argmax
      predicted[std::size_t(start + r)] = int(best);
    }
  }
  std::vector<Index> order;
  Index wrong = 0;
  for (Index i = 0; i < n; ++i) wrong += predicted[std::size_t(i)] != test_set.labels(i);
  if (f.misclassified_first)
    for (Index i = 0; i < n; ++i)
      if (predicted[std::size_t(i)] != test_set.labels(i)) order.push_back(i);
  for (Index i = 0; i < n; ++i)
    if (!f.misclassified_first || predicted[std::size_t(i)] == test_set.labels(i)) order.push_back(i);
  order.resize(std::min<std::size_t>(order.size(), std::size_t(f.grid_rows) * std::size_t(f.grid_cols)));

  std::vector<plot::DigitTile> tiles;
  for (Index i : order) {
    plot::DigitTile t{{}, test_set.rows, test_set.cols, int(test_set.labels(i)), predicted[std::size_t(i)]};
    t.pixels.assign(test_set.pixels.row(i).data(), test_set.pixels.row(i).data() + test_set.pixels.cols());
    tiles.push_back(std::move(t));
  }
  plot::PlotOptions options;
  options.title = title + " — " + std::to_string(wrong) + " of " + std::to_string(n) + " test images misclassified" +
                  (f.misclassified_first ? " (shown first)" : "");
  options.show = f.show;
  // Square tiles filling the width: a 28×28 cell is 36 units wide and 45 tall with its caption
  // (plot_digit_grid's layout); 20 pixels of margins and 36 for the title.
  options.width = 1000;
  options.height = std::clamp(int(980.0 * 45 * f.grid_rows / (36.0 * f.grid_cols)) + 56, 200, 4000);
  plot::plot_digit_grid(tiles, int((tiles.size() + std::size_t(f.grid_cols) - 1) / std::size_t(f.grid_cols)),
                        f.grid_cols, f.samples_path, options);
  std::printf("test-set samples plot written to %s\n", f.samples_path.c_str());
}

#endif  // EIGENNET_HAVE_PLOTS

// One run of a sweep (train-mnist --lr 5e-4,0.9,5e-2 --plot), as its curves: the training loss of
// every step and the test passes, against the examples seen.
struct SweepCurve {
  std::string label;                             // the legend's name of the run, e.g. "lr 5e-4"
  std::vector<std::string> notes;                // said after the name, e.g. "diverged at step 17"
  std::vector<double> examples, loss;            // per step
  std::vector<double> test_examples, test_loss;  // per test pass
};

// The colour of the sweep's i-th run (gnuplot's rgb), cycling after ten.
inline const char* sweep_colour(std::size_t i) {
  static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                        "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  return colours[i % 10];
}

// The PyTorch practical's learning-rate figure: one panel, training loss per step against
// examples seen, one colour per run, its test losses as points of the same colour. Losses above
// 4× the largest first-step loss (a run on its way to diverging) are left out, so that they do
// not flatten the other curves; the legend says so for the runs concerned.
inline void plot_sweep(const std::string& path, bool show, const std::vector<SweepCurve>& runs,
                       const std::string& title) {
#ifdef EIGENNET_HAVE_PLOTS
  double cap = 0;
  for (const SweepCurve& r : runs)
    if (!r.loss.empty() && std::isfinite(r.loss.front())) cap = std::max(cap, 4 * r.loss.front());
  std::vector<plot::Series> series;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const SweepCurve& r = runs[i];
    std::vector<double> loss = r.loss, test_loss = r.test_loss;
    std::vector<std::string> notes = r.notes;
    bool clipped = false;
    for (std::vector<double>* v : {&loss, &test_loss})
      for (double& y : *v)
        if (cap > 0 && !(y <= cap)) y = std::numeric_limits<double>::quiet_NaN(), clipped = true;
    const std::string colour = std::string("lc rgb '") + sweep_colour(i) + "'";
    if (clipped) notes.push_back("losses above " + format("%.3g", cap) + " left out");
    std::string label = r.label;
    for (std::size_t n = 0; n < notes.size(); ++n) label += (n == 0 ? " (" : "; ") + notes[n];
    series.push_back({label + (notes.empty() ? "" : ")"), r.examples, loss, "lines lw 1.5 " + colour});
    if (!r.test_examples.empty())
      series.push_back({r.label + ": test loss", r.test_examples, test_loss, "points pt 7 ps 1.5 " + colour});
  }
  plot::PlotOptions options;
  options.title = title;
  options.x_label = "examples seen";
  options.y_label = "loss";
  options.show = show;
  plot::plot_series(series, path, options);
  std::printf("sweep plot written to %s\n", path.c_str());
#else
  (void)path, (void)show, (void)runs, (void)title;
#endif
}

// Writes the pictures asked for. Errors (gnuplot missing or failing) throw plot::PlotError, a
// std::runtime_error, for the tool's usual error exit.
template <typename Scalar>
void write_training_plots(const PlotFlags& f, const TrainingHistory& history, Network<Scalar>& net,
                          const LabeledData<Scalar>& test, const ImageSet& test_set, const BatchTransform<Scalar>& transform,
                          const std::string& title) {
#ifdef EIGENNET_HAVE_PLOTS
  if (!f.progress_path.empty()) plot_progress(f, history, title);
  if (!f.samples_path.empty()) plot_samples<Scalar>(f, net, test, test_set, transform, title);
#else
  (void)f, (void)history, (void)net, (void)test, (void)test_set, (void)transform, (void)title;
#endif
}

}  // namespace eigennet::tools

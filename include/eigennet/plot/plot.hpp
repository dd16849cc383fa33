// Pictures for the tools, drawn by gnuplot through gnuplot-iostream (outside the Eigen-only core).
//
// Every function writes one PNG of options.width × options.height pixels, headless: gnuplot's
// pngcairo terminal (the plain `png` terminal where pngcairo is missing). The file is written
// atomically: gnuplot draws into a temporary file beside it, which is checked to be a PNG and
// renamed over png_path, so a reader never sees half a picture and a failed plot leaves an old
// file as it was.
//
// With options.show the same figure also opens in a window (gnuplot's qt, wxt or x11 terminal)
// when $DISPLAY is set; otherwise, or when this gnuplot has no on-screen terminal (gnuplot-nox),
// a message on stderr says so and only the PNG is written.
//
// The gnuplot program is looked up on PATH (or taken from $EIGENNET_GNUPLOT, a path to the
// binary). Missing, it is a PlotError naming the package: apt-get install gnuplot-nox.
// $EIGENNET_PLOT_TERMINAL=png forces the plain png terminal (used by the tests of the fallback).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/types.hpp"

namespace eigennet::plot {

// gnuplot missing or failing, a temporary file that cannot be written, a PNG that did not come
// out. The message names the file and the cause.
class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One curve. x and y have the same length (NaN/Inf values are left out of the curve).
// style is a gnuplot `with` clause ("lines lw 2", "points pt 2"); empty draws lines.
struct Series {
  std::string title;
  std::vector<double> x, y;
  std::string style;
};

struct PlotOptions {
  int width = 1000, height = 700;  // pixels of the PNG (and of the window with show)
  bool show = false;               // also open a window where a display exists
  std::string title;               // figure title; empty: none
  std::string x_label = "epoch";   // the horizontal axis
  std::string y_label;             // plot_series: the vertical axis
  std::string loss_label = "loss", accuracy_label = "accuracy";  // plot_training_progress's panels
};

// Two panels sharing the x axis: the loss curves on top, the accuracy curves (train, validation,
// test; in % or as fractions, as given) below — the notebook's training-progress figure.
// Either list may hold several series; at least one series must have points.
void plot_training_progress(const std::vector<Series>& losses, const std::vector<Series>& accuracies,
                            const std::string& png_path, const PlotOptions& options);

// One image of a collage. pixels: rows*cols values, row-major (any range: each tile is scaled to
// its own min..max, so raw bytes, [0,1] and standardised pixels all show the same).
struct DigitTile {
  std::vector<float> pixels;
  Index rows, cols;
  int true_label, predicted_label;
};

// grid_rows × grid_cols tiles, filled row by row (fewer tiles leave empty cells; more is an
// error). Above each tile "true T  pred P"; a misclassified tile (P ≠ T) gets a red frame and a
// red caption. All tiles must have the same rows × cols.
void plot_digit_grid(const std::vector<DigitTile>& tiles, int grid_rows, int grid_cols, const std::string& png_path,
                     const PlotOptions& options);

// Several curves on one pair of axes (the cosine example: noisy input, clean cosine, network
// output), labelled options.x_label / options.y_label, with a legend.
void plot_series(const std::vector<Series>& series, const std::string& png_path, const PlotOptions& options);

// The gnuplot program plots run: $EIGENNET_GNUPLOT if set, else the first executable
// "gnuplot" on PATH. Throws PlotError (naming apt-get install gnuplot-nox) if there is none.
std::string find_gnuplot();

}  // namespace eigennet::plot

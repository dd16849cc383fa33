// Internal to eigennet_plot: runs one figure through gnuplot (gnuplot-iostream) into a PNG,
// atomically, and optionally on screen.
#pragma once

#include <functional>
#include <string>

#include <gnuplot-iostream.h>

#include "eigennet/plot/plot.hpp"

namespace eigennet::plot::detail {

// Writes the figure's commands and data, after the terminal and the output are set and before
// the output is closed. Called once for the PNG and once more for the window (with show).
using Draw = std::function<void(Gnuplot&)>;

// Renders `draw` into png_path (options.width × options.height) as described in plot.hpp:
// gnuplot located (PlotError naming gnuplot-nox if missing), pngcairo or png, a temporary file
// beside png_path renamed over it once gnuplot exited with status 0 and the file is a PNG of the
// requested size. gnuplot's error text is part of the PlotError; its warnings go to stderr.
void render(const std::string& png_path, const PlotOptions& options, const Draw& draw);

// A gnuplot string literal: single quotes, a quote doubled, newlines turned into spaces.
std::string quote(const std::string& text);

}  // namespace eigennet::plot::detail

// The figures: training progress (two panels), a collage of digits, curves on one pair of axes.
#include "eigennet/plot/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "gnuplot_session.hpp"

namespace eigennet::plot {

namespace {

using detail::quote;

// The finite (x, y) pairs of a series, as gnuplot-iostream sends them.
using Points = std::pair<std::vector<double>, std::vector<double>>;

Points finite_points(const Series& s) {
  Points p;
  for (std::size_t i = 0; i < s.x.size(); ++i)
    if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
      p.first.push_back(s.x[i]);
      p.second.push_back(s.y[i]);
    }
  return p;
}

void check_series(const std::vector<Series>& series, const std::string& what) {
  for (const auto& s : series)
    if (s.x.size() != s.y.size())
      throw std::invalid_argument(what + " series '" + s.title + "' has " + std::to_string(s.x.size()) +
                                  " x values but " + std::to_string(s.y.size()) + " y values");
}

std::size_t point_count(const std::vector<Series>& series) {
  std::size_t n = 0;
  for (const auto& s : series) n += finite_points(s).first.size();
  return n;
}

// One `plot` command with a '-' data block per non-empty series, then the blocks.
void plot_curves(Gnuplot& gp, const std::vector<Series>& series, const std::string& default_style) {
  std::vector<Points> blocks;
  std::string command = "plot ";
  for (const auto& s : series) {
    Points p = finite_points(s);
    if (p.first.empty()) continue;
    std::string style = s.style.empty() ? default_style : s.style;
    if (p.first.size() == 1 && style.rfind("lines", 0) == 0 && style.rfind("linespoints", 0) != 0)
      style = "points pt 7";  // a line through one point would draw nothing
    command += std::string(blocks.empty() ? "" : ", ") + "'-' using 1:2 with " + style + " " +
               (s.title.empty() ? std::string("notitle") : "title " + quote(s.title));
    blocks.push_back(std::move(p));
  }
  gp << command << "\n";
  for (const auto& block : blocks) gp.send1d(block);
}

}  // namespace

// Two panels (the loss on top, the accuracies below) with one shared x range.
void plot_training_progress(const std::vector<Series>& losses, const std::vector<Series>& accuracies,
                            const std::string& png_path, const PlotOptions& options) {
  check_series(losses, "loss");
  check_series(accuracies, "accuracy");
  struct Panel {
    const std::vector<Series>* series;
    std::string y_label, key, style;
  };
  std::vector<Panel> panels;
  if (point_count(losses) > 0) panels.push_back({&losses, options.loss_label, "top right", "lines lw 1.5"});
  if (point_count(accuracies) > 0)
    panels.push_back({&accuracies, options.accuracy_label, "bottom right", "linespoints lw 2 pt 7 ps 0.8"});
  if (panels.empty())
    throw std::invalid_argument("plot_training_progress(" + png_path + "): no points to draw (every series is empty)");

  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  for (const auto& panel : panels)
    for (const auto& s : *panel.series)
      for (double x : finite_points(s).first) {
        x_min = std::min(x_min, x);
        x_max = std::max(x_max, x);
      }

  detail::render(png_path, options, [&](Gnuplot& gp) {
    gp << "set grid\nset lmargin 10\n";  // one left margin: the panels' x axes line up
    if (x_min < x_max) gp << "set xrange [" << x_min << ":" << x_max << "]\n";
    if (panels.size() == 2)
      gp << "set multiplot layout 2,1" << (options.title.empty() ? "" : " title " + quote(options.title)) << "\n";
    else if (!options.title.empty())
      gp << "set title " << quote(options.title) << "\n";
    for (const auto& panel : panels) {
      gp << "set xlabel " << quote(options.x_label) << "\n";
      gp << "set ylabel " << quote(panel.y_label) << "\n";
      gp << "set key " << panel.key << " box opaque\n";
      plot_curves(gp, *panel.series, panel.style);
    }
    if (panels.size() == 2) gp << "unset multiplot\n";
  });
}

// One RGB image holds the whole collage; captions are gnuplot labels above the tiles.
//   cell (image pixels):  caption band / frame / tile / frame / gap, horizontally gap / frame /
//   tile / frame / gap. A misclassified tile's frame is red; otherwise the frame is background.
void plot_digit_grid(const std::vector<DigitTile>& tiles, int grid_rows, int grid_cols, const std::string& png_path,
                     const PlotOptions& options) {
  if (grid_rows <= 0 || grid_cols <= 0)
    throw std::invalid_argument("plot_digit_grid(" + png_path + "): the grid is " + std::to_string(grid_rows) + "×" +
                                std::to_string(grid_cols) + "; both must be positive");
  if (tiles.empty()) throw std::invalid_argument("plot_digit_grid(" + png_path + "): no tiles to draw");
  if (tiles.size() > std::size_t(grid_rows) * std::size_t(grid_cols))
    throw std::invalid_argument("plot_digit_grid(" + png_path + "): " + std::to_string(tiles.size()) +
                                " tiles do not fit a " + std::to_string(grid_rows) + "×" + std::to_string(grid_cols) +
                                " grid");
  const Index rows = tiles[0].rows, cols = tiles[0].cols;
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const DigitTile& t = tiles[i];
    if (t.rows != rows || t.cols != cols || t.rows <= 0 || t.cols <= 0 ||
        t.pixels.size() != std::size_t(t.rows * t.cols))
      throw std::invalid_argument("plot_digit_grid(" + png_path + "): tile " + std::to_string(i) + " is " +
                                  shape_string(t.rows, t.cols) + " with " + std::to_string(t.pixels.size()) +
                                  " pixels; every tile must be " + shape_string(rows, cols) + " with rows·cols pixels");
  }

  const Index frame = std::max<Index>(1, rows / 14), gap = frame;
  const Index band = std::max<Index>(8, (rows * 2) / 5);  // caption band above each tile
  const Index cell_w = gap + frame + cols + frame + gap, cell_h = band + frame + rows + frame + gap;
  const Index width = grid_cols * cell_w, height = grid_rows * cell_h;

  // The image, top row first, RGB bytes; white background.
  std::vector<std::uint8_t> rgb(std::size_t(width * height * 3), 255);
  auto put = [&](Index x, Index y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    std::uint8_t* p = &rgb[std::size_t((y * width + x) * 3)];
    p[0] = r, p[1] = g, p[2] = b;
  };
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const DigitTile& t = tiles[i];
    const Index x0 = Index(i % std::size_t(grid_cols)) * cell_w + gap + frame;
    const Index y0 = Index(i / std::size_t(grid_cols)) * cell_h + band + frame;
    const auto [lo, hi] = std::minmax_element(t.pixels.begin(), t.pixels.end());
    const float range = *hi - *lo;
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) {
        const float v = t.pixels[std::size_t(r * cols + c)];
        const auto grey = std::uint8_t(range > 0 && std::isfinite(v) ? std::lround(255.0f * (v - *lo) / range) : 0);
        put(x0 + c, y0 + r, grey, grey, grey);
      }
    if (t.predicted_label != t.true_label)
      for (Index y = y0 - frame; y < y0 + rows + frame; ++y)
        for (Index x = x0 - frame; x < x0 + cols + frame; ++x)
          if (y < y0 || y >= y0 + rows || x < x0 || x >= x0 + cols) put(x, y, 220, 0, 0);
  }

  // Where the picture goes on the canvas (screen pixels): as large as fits with square pixels,
  // centred, below a title line if there is a title.
  const bool titled = !options.title.empty();
  const double canvas_w = options.width, canvas_h = options.height, title_h = titled ? 36.0 : 0.0;
  const double scale = std::min((canvas_w - 20) / double(width), (canvas_h - 20 - title_h) / double(height));
  const double left = (canvas_w - width * scale) / 2, bottom = (canvas_h - title_h - height * scale) / 2;
  // Caption font (points, about a pixel each here): fits the band's height and "true T  pred P"
  // (14 characters of about 0.72 em) in the cell's width.
  const double font = std::clamp(std::min(0.8 * band * scale, 0.9 * cell_w * scale / (14 * 0.72)), 5.0, 16.0);

  detail::render(png_path, options, [&](Gnuplot& gp) {
    gp << "unset border\nunset tics\nunset key\nunset colorbox\n";
    gp << "set lmargin at screen " << left / canvas_w << "\nset rmargin at screen " << 1 - left / canvas_w << "\n";
    gp << "set bmargin at screen " << bottom / canvas_h << "\nset tmargin at screen "
       << (bottom + height * scale) / canvas_h << "\n";
    if (titled)
      gp << "set label " << quote(options.title) << " at screen 0.5, screen " << 1 - 20 / canvas_h
         << " center font ',14'\n";
    gp << "set xrange [-0.5:" << width - 0.5 << "]\nset yrange [-0.5:" << height - 0.5 << "]\n";
    // Image rows go bottom-up in gnuplot (y = 0 at the bottom): y_gnuplot = height − 1 − y_top.
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      const DigitTile& t = tiles[i];
      const double x = double(Index(i % std::size_t(grid_cols)) * cell_w) + cell_w / 2.0 - 0.5;
      const double y_top = double(Index(i / std::size_t(grid_cols)) * cell_h) + band / 2.0;
      const bool wrong = t.predicted_label != t.true_label;
      gp << "set label " << quote("true " + std::to_string(t.true_label) + "  pred " + std::to_string(t.predicted_label))
         << " at " << x << "," << double(height) - 1 - y_top << " center font '," << font << "' textcolor rgb "
         << (wrong ? "'#dc0000'" : "'#000000'") << " front\n";
    }
    gp << "plot '-' binary array=(" << width << "," << height
       << ") format='%uchar%uchar%uchar' with rgbimage notitle\n";
    for (Index y = height - 1; y >= 0; --y)
      gp.write(reinterpret_cast<const char*>(&rgb[std::size_t(y * width * 3)]), std::streamsize(width * 3));
    gp << "\n";
  });
}

// Several curves on one pair of axes, with a legend.
void plot_series(const std::vector<Series>& series, const std::string& png_path, const PlotOptions& options) {
  check_series(series, "plot");
  if (point_count(series) == 0)
    throw std::invalid_argument("plot_series(" + png_path + "): no points to draw (every series is empty)");
  detail::render(png_path, options, [&](Gnuplot& gp) {
    // Head-room above the data for the legend, so it hides no point.
    gp << "set grid\nset key top right box opaque\nset autoscale xfix\nset offsets 0, 0, graph 0.22, 0\n";
    if (!options.title.empty()) gp << "set title " << quote(options.title) << "\n";
    gp << "set xlabel " << quote(options.x_label) << "\n";
    gp << "set ylabel " << quote(options.y_label) << "\n";
    plot_curves(gp, series, "lines lw 1.5");
  });
}

}  // namespace eigennet::plot

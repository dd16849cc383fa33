// eigennet_plot: every figure comes out as a complete PNG of the requested size with real content
// (decoded and counted, not just "the file exists"), written atomically; bad input and a missing
// or failing gnuplot give clear errors.
#include <doctest/doctest.h>

#include <cmath>

#include "eigennet/plot/plot.hpp"
#include "plot_test_util.hpp"

using namespace eigennet;
using namespace eigennet::plot;
using namespace plot_test;

namespace {

// Loss per iteration (noisy, decreasing) and per epoch; train/validation/test accuracy per epoch.
void progress_series(std::vector<Series>& losses, std::vector<Series>& accuracies) {
  Series iteration{"train loss (per iteration)", {}, {}, ""}, epoch_loss{"validation loss", {}, {}, ""};
  for (int i = 0; i <= 200; ++i) {
    const double x = i / 40.0;  // 5 epochs of 40 iterations
    iteration.x.push_back(x);
    iteration.y.push_back(2.3 * std::exp(-x) + 0.15 + 0.08 * std::sin(7.0 * i));
  }
  Series train{"train", {}, {}, ""}, validation{"validation", {}, {}, ""}, test{"test", {}, {}, ""};
  for (int e = 1; e <= 5; ++e) {
    epoch_loss.x.push_back(e);
    epoch_loss.y.push_back(2.3 * std::exp(-e) + 0.2);
    for (auto* s : {&train, &validation, &test}) s->x.push_back(e);
    train.y.push_back(100 - 30 * std::exp(-e));
    validation.y.push_back(97 - 30 * std::exp(-e));
    test.y.push_back(96.5 - 30 * std::exp(-e));
  }
  losses = {iteration, epoch_loss};
  accuracies = {train, validation, test};
}

// A 28×28 "digit": a ring whose size depends on the label, and a stroke; bytes 0..255.
DigitTile synthetic_tile(int true_label, int predicted_label) {
  DigitTile t{std::vector<float>(28 * 28, 0.0f), 28, 28, true_label, predicted_label};
  const double radius = 5.0 + true_label;
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) {
      const double d = std::hypot(r - 13.5, (c - 13.5) * 1.4);
      if (std::abs(d - radius) < 1.6 || (c == 6 + true_label && r > 4 && r < 24)) t.pixels[r * 28 + c] = 255.0f;
    }
  return t;
}

void require_png(const std::string& path, int width, int height) {
  const Image img = decode_png(path);
  INFO(path);
  REQUIRE_MESSAGE(img.error.empty(), img.error);
  CHECK(img.width == std::uint32_t(width));
  CHECK(img.height == std::uint32_t(height));
}

bool no_temporaries(const TempDir& dir) {
  for (const auto& name : dir.entries())
    if (contains(name, ".tmp-")) return false;
  return true;
}

}  // namespace

TEST_CASE("training progress: two panels, each with curves, at the requested size") {
  TempDir dir;
  std::vector<Series> losses, accuracies;
  progress_series(losses, accuracies);
  for (auto [w, h] : {std::pair{1000, 700}, std::pair{640, 480}}) {
    const std::string path = dir.file("progress-" + std::to_string(w) + ".png");
    PlotOptions options;
    options.width = w, options.height = h;
    options.title = "Training progress";
    plot_training_progress(losses, accuracies, path, options);
    require_png(path, w, h);
    const Image img = decode_png(path);
    const Stats all = stats(img), top = stats(img, 0, img.height / 2), bottom = stats(img, img.height / 2);
    INFO("non-background: all " << all.non_background_fraction() << ", top " << top.non_background_fraction()
                                << ", bottom " << bottom.non_background_fraction() << "; colours "
                                << all.distinct_colours);
    CHECK(all.non_background_fraction() > 0.02);
    CHECK(top.non_background_fraction() > 0.01);     // the loss panel
    CHECK(bottom.non_background_fraction() > 0.01);  // the accuracy panel
    CHECK(all.distinct_colours >= 20);               // curves of several colours, antialiased text
  }
  CHECK(no_temporaries(dir));
}

TEST_CASE("training progress with only losses draws one panel; with nothing it is an error") {
  TempDir dir;
  std::vector<Series> losses, accuracies;
  progress_series(losses, accuracies);
  plot_training_progress(losses, {}, dir.file("loss.png"), PlotOptions{});
  require_png(dir.file("loss.png"), 1000, 700);
  CHECK(stats(decode_png(dir.file("loss.png"))).non_background_fraction() > 0.02);
  CHECK_THROWS_AS(plot_training_progress({}, {Series{"empty", {}, {}, ""}}, dir.file("none.png"), PlotOptions{}),
                  std::invalid_argument);
  CHECK_FALSE(fs::exists(dir.file("none.png")));
}

TEST_CASE("digit grid: tiles, captions, red frames only on misclassified tiles") {
  TempDir dir;
  std::vector<DigitTile> tiles;
  for (int i = 0; i < 18; ++i) tiles.push_back(synthetic_tile(i % 10, i % 10));
  const std::string right = dir.file("right.png");
  PlotOptions options;
  options.width = 900, options.height = 800;
  options.title = "test set";
  plot_digit_grid(tiles, 4, 5, right, options);  // 18 tiles in 20 cells: two stay empty
  require_png(right, 900, 800);
  const Stats correct = stats(decode_png(right));
  INFO("all correct: non-background " << correct.non_background_fraction() << ", dark " << correct.dark << ", red "
                                      << correct.red << ", colours " << correct.distinct_colours);
  CHECK(correct.non_background_fraction() > 0.2);  // black tiles cover much of the picture
  CHECK(correct.dark > 100000);
  CHECK(correct.distinct_colours >= 10);
  CHECK(correct.red == 0);  // negative control: nothing misclassified, nothing red

  tiles[3].predicted_label = 8;
  tiles[11].predicted_label = 0;
  const std::string wrong = dir.file("wrong.png");
  plot_digit_grid(tiles, 4, 5, wrong, options);
  const Stats marked = stats(decode_png(wrong));
  INFO("two misclassified: red " << marked.red);
  CHECK(marked.red > 1000);
  CHECK(no_temporaries(dir));
}

TEST_CASE("digit grid keeps the image upright and scales any pixel range") {
  // One tile, standardised values: black (the minimum) in its top half, mid-grey below.
  TempDir dir;
  DigitTile t{std::vector<float>(28 * 28, -0.42f), 28, 28, 3, 3};
  for (int i = 14 * 28; i < 28 * 28; ++i) t.pixels[i] = 1.0f;
  t.pixels.back() = 2.8f;  // the maximum, white: 1.0 then maps to about mid-grey
  const std::string path = dir.file("upright.png");
  plot_digit_grid({t}, 1, 1, path, PlotOptions{});
  const Image img = decode_png(path);
  REQUIRE(img.error.empty());
  double black_y = 0, grey_y = 0;
  std::size_t black = 0, grey = 0;
  for (std::uint32_t y = 0; y < img.height; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      if (p[0] < 20 && p[1] < 20 && p[2] < 20) black_y += y, ++black;
      if (std::abs(p[0] - 112) < 25 && p[0] == p[1] && p[1] == p[2]) grey_y += y, ++grey;
    }
  INFO("black pixels " << black << ", grey pixels " << grey);
  REQUIRE(black > 10000);
  REQUIRE(grey > 10000);
  CHECK(black_y / double(black) < grey_y / double(grey));  // the tile's top row is drawn on top
}

TEST_CASE("digit grid rejects tiles that do not fit or do not match") {
  TempDir dir;
  std::vector<DigitTile> tiles(7, synthetic_tile(1, 1));
  CHECK_THROWS_WITH_AS(plot_digit_grid(tiles, 2, 3, dir.file("g.png"), PlotOptions{}),
                       doctest::Contains("7 tiles do not fit a 2×3 grid"), std::invalid_argument);
  tiles[4].pixels.pop_back();
  CHECK_THROWS_WITH_AS(plot_digit_grid(tiles, 3, 3, dir.file("g.png"), PlotOptions{}), doctest::Contains("tile 4"),
                       std::invalid_argument);
  CHECK_THROWS_AS(plot_digit_grid(tiles, 0, 3, dir.file("g.png"), PlotOptions{}), std::invalid_argument);
  CHECK_THROWS_AS(plot_digit_grid({}, 2, 2, dir.file("g.png"), PlotOptions{}), std::invalid_argument);
  CHECK_FALSE(fs::exists(dir.file("g.png")));
}

TEST_CASE("series plot: curves, points and a legend; NaN points are left out") {
  TempDir dir;
  Series a{"sine", {}, {}, ""}, b{"points", {}, {}, "points pt 2 lc rgb '#d62728'"};
  for (int i = 0; i < 200; ++i) {
    a.x.push_back(i * 0.05);
    a.y.push_back(std::sin(i * 0.05));
    b.x.push_back(i * 0.05);
    b.y.push_back(i == 50 ? std::nan("") : std::cos(i * 0.05));
  }
  PlotOptions options;
  options.width = 800, options.height = 500;
  options.x_label = "t";
  options.y_label = "value";
  plot_series({a, b}, dir.file("series.png"), options);
  require_png(dir.file("series.png"), 800, 500);
  const Stats s = stats(decode_png(dir.file("series.png")));
  CHECK(s.non_background_fraction() > 0.01);
  CHECK(s.red > 200);  // the red points are there
}

TEST_CASE("the plain png terminal (pngcairo's fallback) gives the requested size too") {
  TempDir dir;
  ScopedEnv terminal("EIGENNET_PLOT_TERMINAL", "png");
  std::vector<Series> losses, accuracies;
  progress_series(losses, accuracies);
  PlotOptions options;
  options.width = 700, options.height = 450;
  plot_training_progress(losses, accuracies, dir.file("png.png"), options);
  require_png(dir.file("png.png"), 700, 450);
  CHECK(stats(decode_png(dir.file("png.png"))).non_background_fraction() > 0.01);
  ScopedEnv bogus("EIGENNET_PLOT_TERMINAL", "svg");
  CHECK_THROWS_WITH_AS(plot_training_progress(losses, accuracies, dir.file("svg.png"), options),
                       doctest::Contains("expected pngcairo or png"), PlotError);
}

TEST_CASE("a missing gnuplot is a clear error naming the package, and leaves the old file alone") {
  TempDir dir;
  const std::string path = dir.file("keep.png");
  { std::ofstream(path) << "old contents"; }
  std::vector<Series> losses, accuracies;
  progress_series(losses, accuracies);
  const std::string empty_dir = dir.file("bin");
  fs::create_directory(empty_dir);
  {
    ScopedEnv no_override("EIGENNET_GNUPLOT", nullptr);
    ScopedEnv path_env("PATH", empty_dir.c_str());  // a PATH without gnuplot
    CHECK_THROWS_WITH_AS(find_gnuplot(), doctest::Contains("apt-get install gnuplot-nox"), PlotError);
    CHECK_THROWS_WITH_AS(plot_training_progress(losses, accuracies, path, PlotOptions{}),
                         doctest::Contains("gnuplot not found on PATH"), PlotError);
  }
  {
    ScopedEnv forced("EIGENNET_GNUPLOT", "/nonexistent/gnuplot");
    CHECK_THROWS_WITH_AS(plot_series(losses, path, PlotOptions{}), doctest::Contains("/nonexistent/gnuplot"),
                         PlotError);
  }
  CHECK(read_file(path) == "old contents");
  CHECK(no_temporaries(dir));
}

TEST_CASE("a gnuplot error is reported with gnuplot's message; the old file stays, no temporary is left") {
  TempDir dir;
  const std::string path = dir.file("keep.png");
  { std::ofstream(path) << "old contents"; }
  Series bad{"bad", {0, 1, 2}, {0, 1, 4}, "no_such_style"};
  try {
    plot_series({bad}, path, PlotOptions{});
    FAIL("plot_series accepted a style gnuplot rejects");
  } catch (const PlotError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(contains(message, path));
    CHECK(contains(message, "gnuplot exited with status"));
    CHECK(contains(message, "no_such_style"));  // gnuplot's own message, quoting the culprit
  }
  CHECK(read_file(path) == "old contents");
  CHECK(no_temporaries(dir));
}

TEST_CASE("a successful plot replaces an existing file; odd characters in the path are fine") {
  TempDir dir;
  const std::string path = dir.file("it's a plot.png");
  { std::ofstream(path) << "old contents"; }
  Series s{"line", {0, 1, 2, 3}, {1, 3, 2, 4}, ""};
  plot_series({s}, path, PlotOptions{});
  require_png(path, 1000, 700);
  CHECK(no_temporaries(dir));
  CHECK((fs::status(path).permissions() & fs::perms::others_read) != fs::perms::none);  // not mkstemp's 0600
}

TEST_CASE("bad arguments: sizes, mismatched series, a folder that does not exist") {
  TempDir dir;
  Series s{"line", {0, 1, 2}, {1, 2, 3}, ""};
  PlotOptions tiny;
  tiny.width = 0;
  CHECK_THROWS_WITH_AS(plot_series({s}, dir.file("a.png"), tiny), doctest::Contains("between 16 and 16384"),
                       std::invalid_argument);
  Series mismatched{"mismatched", {0, 1, 2}, {1, 2}, ""};
  CHECK_THROWS_WITH_AS(plot_series({mismatched}, dir.file("a.png"), PlotOptions{}),
                       doctest::Contains("'mismatched' has 3 x values but 2 y values"), std::invalid_argument);
  const std::string missing_dir = dir.file("no/such/folder/a.png");
  CHECK_THROWS_WITH_AS(plot_series({s}, missing_dir, PlotOptions{}), doctest::Contains(missing_dir.c_str()), PlotError);
}

TEST_CASE("show with a display: the same figure goes to a persistent on-screen gnuplot session") {
  // A stand-in gnuplot: it claims an on-screen terminal (qt), records the window session (the
  // one started with -persist) instead of opening a window, and hands the rest to the real one.
  TempDir dir;
  const std::string real = find_gnuplot(), fake = dir.file("gnuplot-with-qt");
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\n"
           << "input=" << shell_quote(dir.file("stdin-")) << "$$\n"
           << "cat > \"$input\"\n"
           << "if grep -q 'print GPVAL_TERMINALS' \"$input\"; then echo ' png pngcairo qt '; exit 0; fi\n"
           << "case \" $* \" in *' -persist '*) cp \"$input\" " << shell_quote(dir.file("window.gp"))
           << "; exit 0;; esac\n"
           << "exec " << shell_quote(real) << " < \"$input\"\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  ScopedEnv gnuplot("EIGENNET_GNUPLOT", fake.c_str());
  ScopedEnv display("DISPLAY", ":0");
  PlotOptions options;
  options.show = true;
  options.width = 640, options.height = 480;
  options.title = "on screen";
  Series s{"line", {0, 1, 2, 3}, {1, 3, 2, 4}, ""};
  plot_series({s}, dir.file("shown.png"), options);
  require_png(dir.file("shown.png"), 640, 480);
  const std::string window = read_file(dir.file("window.gp"));
  INFO(window);
  CHECK(contains(window, "set terminal qt size 640,480"));
  CHECK(contains(window, "set title 'on screen'"));
  CHECK(contains(window, "plot '-' using 1:2 with lines"));
  CHECK_FALSE(contains(window, "set output"));
}

TEST_CASE("show without a display writes the PNG and says why there is no window") {
  TempDir dir;
  ScopedEnv no_display("DISPLAY", nullptr);
  PlotOptions options;
  options.show = true;
  Series s{"line", {0, 1, 2, 3}, {1, 3, 2, 4}, ""};
  CaptureStderr capture(dir.file("stderr.txt"));
  plot_series({s}, dir.file("shown.png"), options);
  const std::string message = capture.text();
  INFO(message);
  CHECK(contains(message, "no display"));
  CHECK(contains(message, dir.file("shown.png")));
  require_png(dir.file("shown.png"), 1000, 700);
}

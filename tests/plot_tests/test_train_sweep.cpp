// train-mnist's sweeps (issue 15): --lr 0.01,0.05,0.1 trains three runs from the same initial
// weights and batches — each run's log rows equal the single run with that --lr, byte for byte —
// and prints their table; --plot draws one figure with a curve of each run's colour (decoded);
// --log is one CSV with an lr column; a diverging value is a row and the sweep goes on; bad lists
// are usage errors naming the value; --plan prints the GEMM plan. On small generated datasets
// (600 training images, 12 steps per run).
#include <doctest/doctest.h>

#include <sstream>

#include "plot_test_util.hpp"
#include "support/gemm_settings.hpp"
#include "support/mnist_files.hpp"

using namespace plot_test;

namespace {

std::string tool() { return tool_from_env("EIGENNET_TRAIN_MNIST"); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The log's rows whose first field is `value`, without that field.
std::string rows_of(const std::string& csv, const std::string& value) {
  std::string rows;
  for (const std::string& line : lines_of(csv))
    if (line.rfind(value + ",", 0) == 0) rows += line.substr(value.size() + 1) + "\n";
  return rows;
}

// Pixels within 40 (sum of channel differences) of an #rrggbb colour, below the legend (the top
// 200 rows: the figure's title and the legend's box of up to 6 entries).
std::size_t pixels_of(const Image& img, const std::string& hex) {
  const int r = std::stoi(hex.substr(1, 2), nullptr, 16), g = std::stoi(hex.substr(3, 2), nullptr, 16),
            b = std::stoi(hex.substr(5, 2), nullptr, 16);
  std::size_t n = 0;
  for (std::uint32_t y = 200; y < img.height; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      n += std::abs(p[0] - r) + std::abs(p[1] - g) + std::abs(p[2] - b) < 40;
    }
  return n;
}

// A table row "<value>  <train loss>  <test loss>  <acc>%  <time>s" split into fields.
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("train-mnist --lr 0.01,0.05,0.1: three runs from the same start, a table, one log, one figure") {
  TempDir dir;
  const std::string data = dir.file("data");
  eigennet_test::write_mnist_files(data, 600, 100, 28, 28);
  // One pinned GEMM kernel: each run of the sweep is compared with a single run, bit for bit, in
  // another process (the planner, the default, may choose another kernel there).
  const std::string base =
      "EIGENNET_GEMM=eigen " + tool() + " --recipe practical-mlp --epochs 2 --data " + shell_quote(data);
  const std::string png = dir.file("sweep.png"), csv = dir.file("sweep.csv");
  const CommandResult sweep =
      run_command(dir, base + " --lr 0.01,0.05,0.1 --plot " + shell_quote(png) + " --log " + shell_quote(csv));
  INFO("stdout:\n" << sweep.out << "\nstderr:\n" << sweep.err);
  REQUIRE(sweep.exit_code == 0);
  CHECK(contains(sweep.out, "sweep over --lr: 3 runs of practical-mlp"));
  CHECK(contains(sweep.out, "3 of 3 runs finished\n"));

  // The table: a header, then one row per value in the order given.
  const std::vector<std::string> lines = lines_of(sweep.out);
  const auto header = std::find_if(lines.begin(), lines.end(),
                                   [](const std::string& l) { return l.rfind("lr  ", 0) == 0; });
  REQUIRE(header != lines.end());
  CHECK(contains(*header, "train loss"));
  CHECK(contains(*header, "test loss"));
  CHECK(contains(*header, "test accuracy"));
  REQUIRE(lines.end() - header > 3);
  const std::vector<std::string> values = {"0.01", "0.05", "0.1"};
  const std::string log = read_file(csv);
  CHECK(log.rfind("lr,step,epoch,loss,batch_accuracy,test_loss,test_accuracy,validation_loss,validation_accuracy\n",
                  0) == 0);
  std::vector<std::string> logs;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::vector<std::string> row = fields(header[std::ptrdiff_t(i) + 1]);
    INFO("row " << header[std::ptrdiff_t(i) + 1]);
    REQUIRE(row.size() == 5);
    CHECK(row[0] == values[i]);
    CHECK(row[3].back() == '%');
    CHECK(row[4].back() == 's');

    // The same value alone: the same steps (same initial weights, same batches), so the sweep's
    // log rows for it are the single run's log, and its table row shows the single run's results.
    const std::string single_csv = dir.file("single-" + values[i] + ".csv");
    const CommandResult single = run_command(dir, base + " --lr " + values[i] + " --log " + shell_quote(single_csv));
    REQUIRE(single.exit_code == 0);
    const std::vector<std::string> single_log = lines_of(read_file(single_csv));
    REQUIRE(single_log.size() == 13);  // header and 2 epochs of 6 steps
    logs.push_back(rows_of(log, values[i]));
    std::string single_rows;
    for (std::size_t l = 1; l < single_log.size(); ++l) single_rows += single_log[l] + "\n";
    CHECK(logs.back() == single_rows);
    CHECK(contains(single.out, "test accuracy: " + row[3] + "\n"));
    // Its final test loss (the log's %.9g) is the table's, rounded to 4 places.
    const std::string last = single_log.back();
    const std::size_t f5 = [&] {
      std::size_t p = 0;
      for (int k = 0; k < 4; ++k) p = last.find(',', p) + 1;
      return p;
    }();
    char rounded[32];
    std::snprintf(rounded, sizeof rounded, "%.4f", std::stod(last.substr(f5, last.find(',', f5) - f5)));
    CHECK(row[2] == rounded);
  }
  // Negative control: the learning rates do change the runs.
  CHECK(logs[0] != logs[1]);
  CHECK(logs[1] != logs[2]);

  // The figure: 1000×700, a curve of each run's colour (train_plots.hpp's sweep_colour: blue, red,
  // green) below the legend, and no fourth run's orange.
  const Image img = decode_png(png);
  REQUIRE_MESSAGE(img.error.empty(), img.error);
  CHECK(img.width == 1000);
  CHECK(img.height == 700);
  const std::size_t blue = pixels_of(img, "#1f77b4"), red = pixels_of(img, "#d62728"),
                    green = pixels_of(img, "#2ca02c"), orange = pixels_of(img, "#ff7f0e");
  INFO("pixels: blue " << blue << ", red " << red << ", green " << green << ", orange " << orange);
  CHECK(blue > 300);
  CHECK(red > 300);
  CHECK(green > 300);
  CHECK(orange == 0);
}

TEST_CASE("train-mnist sweeps: a diverging value is a row, the others run; all diverged exits 2") {
  TempDir dir;
  const std::string data = dir.file("data");
  eigennet_test::write_mnist_files(data, 200, 50, 28, 28);
  const std::string base = tool() + " --recipe practical-mlp --hidden 8,6 --iters 30 --data " + shell_quote(data);
  const std::string png = dir.file("diverged.png");
  const CommandResult one = run_command(dir, base + " --lr 1e30,0.05 --plot " + shell_quote(png));
  INFO("stdout:\n" << one.out << "\nstderr:\n" << one.err);
  CHECK(one.exit_code == 0);
  CHECK(contains(one.out, "\n1e30  diverged at step 2 "));
  CHECK(contains(one.out, "1 of 2 runs finished, 1 diverged\n"));
  // The diverged run has one finite loss: no curve of its blue, only the legend's (the figure
  // check's negative control); the other run's red curve is there.
  const Image img = decode_png(png);
  REQUIRE_MESSAGE(img.error.empty(), img.error);
  const std::size_t blue = pixels_of(img, "#1f77b4"), red = pixels_of(img, "#d62728");
  INFO("pixels: blue " << blue << ", red " << red);
  CHECK(blue < 20);
  CHECK(red > 300);
  const CommandResult all = run_command(dir, base + " --lr 1e30,1e31");
  CHECK(all.exit_code == 2);
  CHECK(contains(all.out, "0 of 2 runs finished, 2 diverged\n"));

  // --batch and --hidden lists: a grid, one row per combination, a column per swept flag.
  const CommandResult grid = run_command(
      dir, tool() + " --recipe practical-mlp --iters 30 --data " + shell_quote(data) + " --batch 10,20 --hidden 8,6:4");
  INFO("grid:\n" << grid.out << grid.err);
  CHECK(grid.exit_code == 0);
  CHECK(contains(grid.out, "sweep over --batch, --hidden: 4 runs"));
  CHECK(contains(grid.out, "\nbatch  hidden  train loss"));
  CHECK(contains(grid.out, "\n20     4     "));
  CHECK(contains(grid.out, "recipe practical-mlp: float, 784→4 relu→10"));
}

TEST_CASE("train-mnist sweeps: bad lists are usage errors naming the value; --save is refused") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--lr 0.1,-2", "'-2' is not a positive number in the list '0.1,-2'"},
      {"--lr 0.1,,0.2", "an empty value in the list '0.1,,0.2'"},
      {"--lr 0.1,abc", "'abc' is not a positive number"},
      {"--lr 0.1,1e-1", "'1e-1' is there twice"},
      {"--batch 32,0", "'0' is not a positive whole number in the list '32,0'"},
      {"--hidden 64,32:128,x", "'x' is not a positive whole number in the list '64,32:128,x'"},
      {"--hidden 64::32", "an empty network"}};
  for (const auto& [flags, message] : cases) {
    const CommandResult r = run_command(dir, tool() + " " + flags);
    INFO(flags << ":\n" << r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code != 1);  // CLI11's codes: refused before any data is read
    CHECK(contains(r.err, message));
    CHECK_FALSE(contains(r.out, "dataset:"));
  }
  const CommandResult save = run_command(dir, tool() + " --lr 0.1,0.2 --save m.npz");
  CHECK(save.exit_code == 1);
  CHECK(contains(save.err, "--save keeps one model: not with a sweep"));
  CHECK_FALSE(contains(save.out, "dataset:"));
}

TEST_CASE("train-mnist --plan: the GEMM planner's plan after training, before the last line") {
  TempDir dir;
  const std::string data = dir.file("data");
  eigennet_test::write_mnist_files(data, 200, 50, 28, 28);
  // A choice that measures float products in this build ("auto", or "all" where oneDNN is Eigen's
  // only companion); with Eigen alone nothing is measured and the plan says so.
  const std::string choice = eigennet_test::choice_that_measures(eigennet::GemmScalar::Float);
  const std::string run = "EIGENNET_GEMM=" + (choice.empty() ? std::string("auto") : choice) + " " + tool() +
                          " --recipe practical-mlp --hidden 8,6 --iters 3 --data " + shell_quote(data);
  const CommandResult plain = run_command(dir, run), planned = run_command(dir, run + " --plan");
  INFO("without --plan:\n" << plain.out << plain.err << "\nwith --plan:\n" << planned.out << planned.err);
  REQUIRE(plain.exit_code == 0);
  REQUIRE(planned.exit_code == 0);
  const std::vector<std::string> without = lines_of(plain.out), with = lines_of(planned.out);
  std::vector<std::string> added;  // lines only in the --plan run (timing lines aside)
  for (const std::string& line : with)
    if (std::find(without.begin(), without.end(), line) == without.end() && !contains(line, " s (")) added.push_back(line);
  CHECK(with.back().rfind("test accuracy: ", 0) == 0);
  if (choice.empty()) {  // Eigen's kernel alone: nothing to choose
    CHECK(std::find(added.begin(), added.end(), "(no products planned)") != added.end());
    return;
  }
  // The planner measured each product of the three dense layers (forward, and the backward's two).
  CHECK(added.size() >= 6);
  std::size_t naming_a_kernel = 0;
  for (const std::string& line : added)
    naming_a_kernel += contains(line, "eigen") || contains(line, "openblas") || contains(line, "onednn") ||
                       contains(line, "simd");
  CHECK(naming_a_kernel >= 6);
}

// train-mnist's pictures, from short real runs: --plot (epoch and iteration loops) and
// --plot-samples (with and without --misclassified-first) are complete PNGs of the expected size
// with content; a missing gnuplot is a clear error that still leaves the saved model.
// Data: the tool's own search (MNIST, else Debian's Fashion-MNIST).
#include <doctest/doctest.h>

#include "plot_test_util.hpp"

using namespace plot_test;

namespace {

std::string tool() { return tool_from_env("EIGENNET_TRAIN_MNIST"); }

void check_png(const std::string& path, std::uint32_t width, std::uint32_t height, double min_content) {
  const Image img = decode_png(path);
  INFO(path);
  REQUIRE_MESSAGE(img.error.empty(), img.error);
  CHECK(img.width == width);
  CHECK(img.height == height);
  CHECK(stats(img).non_background_fraction() > min_content);
}

}  // namespace

TEST_CASE("train-mnist --plot and --plot-samples after an epoch run; misclassified first shows more red") {
  TempDir dir;
  const std::string progress = dir.file("progress.png"), first = dir.file("wrong-first.png"),
                    in_order = dir.file("in-order.png"), model = dir.file("model.npz");
  const CommandResult r = run_command(
      dir, tool() + " --recipe practical-mlp --epochs 1 --val-fraction 0.1 --save " + shell_quote(model) +
               " --plot " + shell_quote(progress) + " --plot-samples " + shell_quote(first) +
               " --plot-rows 3 --plot-cols 6 --misclassified-first");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "training progress plot written to " + progress));
  CHECK(contains(r.out, "test-set samples plot written to " + first));

  check_png(progress, 1000, 700, 0.02);
  const Image p = decode_png(progress);
  CHECK(stats(p, 0, p.height / 2).non_background_fraction() > 0.01);  // loss panel
  CHECK(stats(p, p.height / 2).non_background_fraction() > 0.01);     // accuracy panel

  // 3×6 collage: 1000 wide, 980·45·3/(36·6) + 56 = 668 high (train_plots.hpp).
  check_png(first, 1000, 668, 0.2);
  const Stats wrong_first = stats(decode_png(first));
  CHECK(wrong_first.dark > 50000);  // black tiles

  // The same model, evaluated again, collage in test-set order: after one epoch (~93%) most of
  // the first 18 test images are right, so there is less red than with the 18 misclassified.
  const CommandResult again = run_command(dir, tool() + " --recipe practical-mlp --load " + shell_quote(model) +
                                                   " --eval-only --plot-samples " + shell_quote(in_order) +
                                                   " --plot-rows 3 --plot-cols 6");
  INFO("eval-only:\n" << again.out << again.err);
  REQUIRE(again.exit_code == 0);
  check_png(in_order, 1000, 668, 0.2);
  const Stats ordered = stats(decode_png(in_order));
  INFO("red pixels: misclassified first " << wrong_first.red << ", in order " << ordered.red);
  CHECK(wrong_first.red > 5000);
  CHECK(ordered.red < wrong_first.red / 3);
}

TEST_CASE("train-mnist --plot after an iteration run (notebook-mlp, 20 steps)") {
  TempDir dir;
  const std::string progress = dir.file("iterations.png");
  const CommandResult r = run_command(
      dir, tool() + " --recipe notebook-mlp --iters 20 --test-every 10 --plot " + shell_quote(progress));
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  check_png(progress, 1000, 700, 0.02);
}

TEST_CASE("train-mnist plot flags: bad combinations are usage errors") {
  TempDir dir;
  for (const std::string flags : {"--eval-only --load x.npz --plot p.png", "--plot-rows 3", "--show",
                                  "--misclassified-first", "--plot-samples s.png --plot-cols 0"}) {
    const CommandResult r = run_command(dir, tool() + " " + flags);
    INFO(flags << ":\n" << r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code != 1);  // CLI11's codes: rejected before any data is read
    CHECK_FALSE(contains(r.out, "dataset:"));
  }
}

TEST_CASE("train-mnist without gnuplot: a clear error, non-zero exit, and the model is still saved") {
  TempDir dir;
  fs::create_directory(dir.file("bin"));
  const std::string model = dir.file("model.npz"), progress = dir.file("progress.png");
  const CommandResult r =
      run_command(dir, "env -u EIGENNET_GNUPLOT PATH=" + shell_quote(dir.file("bin")) + " " + tool() +
                           " --recipe practical-mlp --epochs 1 --save " + shell_quote(model) + " --plot " +
                           shell_quote(progress));
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "gnuplot not found"));
  CHECK(contains(r.err, "apt-get install gnuplot-nox"));
  CHECK(fs::exists(model));
  CHECK_FALSE(fs::exists(progress));
}

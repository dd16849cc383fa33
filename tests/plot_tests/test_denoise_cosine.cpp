// The denoise-cosine tool, run as a user runs it: the cost falls, the output is much closer to the
// clean cosine than the noisy input is, the numbers are those of a numpy version of the course's
// exercise (same draws), the plot is a real picture, and a missing gnuplot is a clear error.
//
// Margins asserted (seed 42 and seeds 1..5, defaults: n 200, hidden 10, lr 0.02, noise std 1,
// 100 steps): mean cost of the last 10 steps < 0.75 × that of the first 10 (seen: 0.52..0.60);
// MSE(output, clean) < 0.1 × MSE(noisy, clean) (seen: ratios 0.017..0.047).
#include <doctest/doctest.h>

#include <cmath>
#include <regex>

#include "plot_test_util.hpp"

using namespace plot_test;

namespace {

std::string tool() { return tool_from_env("EIGENNET_DENOISE_COSINE"); }

struct CosineRun {
  std::vector<double> costs;  // step 1..steps
  double mse_output = NAN, mse_noisy = NAN;
};

CosineRun parse(const std::string& out) {
  CosineRun run;
  static const std::regex step_line(R"(^step (\d+) cost (\S+)$)");
  static const std::regex mse_line(R"(^MSE against the clean cosine: network output (\S+), noisy input ([^\s,]+))");
  std::istringstream lines(out);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, step_line)) {
      CHECK(std::stoul(m[1]) == run.costs.size() + 1);
      run.costs.push_back(std::stod(m[2]));
    } else if (std::regex_search(line, m, mse_line)) {
      run.mse_output = std::stod(m[1]);
      run.mse_noisy = std::stod(m[2]);
    }
  }
  return run;
}

double mean(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  double sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += v[i];
  return sum / double(end - begin);
}

}  // namespace

TEST_CASE("denoise-cosine: the cost falls and the output is far closer to the cosine than the input") {
  TempDir dir;
  const std::string png = dir.file("cosine.png");
  const CommandResult r = run_command(dir, tool() + " --seed 42 --plot " + shell_quote(png));
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  const CosineRun run = parse(r.out);
  REQUIRE(run.costs.size() == 100);
  const double first = mean(run.costs, 0, 10), last = mean(run.costs, 90, 100);
  INFO("mean cost: first 10 steps " << first << ", last 10 " << last << "; MSE output " << run.mse_output
                                    << ", noisy " << run.mse_noisy);
  CHECK(last < 0.75 * first);
  CHECK(run.mse_noisy > 0.5);  // noise std 1: the input really is noisy
  CHECK(run.mse_output < 0.1 * run.mse_noisy);

  // The plot: 1000×700, drawn, with the red network-output points.
  const Image img = decode_png(png);
  REQUIRE_MESSAGE(img.error.empty(), img.error);
  CHECK(img.width == 1000);
  CHECK(img.height == 700);
  const Stats s = stats(img);
  CHECK(s.non_background_fraction() > 0.03);
  CHECK(s.red > 500);
  CHECK(contains(r.out, "plot written to " + png));
}

TEST_CASE("denoise-cosine denoises for other seeds too") {
  TempDir dir;
  for (int seed = 1; seed <= 5; ++seed) {
    const CommandResult r = run_command(dir, tool() + " --seed " + std::to_string(seed));
    INFO("seed " << seed << "\n" << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const CosineRun run = parse(r.out);
    REQUIRE(run.costs.size() == 100);
    CHECK(mean(run.costs, 90, 100) < 0.75 * mean(run.costs, 0, 10));
    CHECK(run.mse_output < 0.1 * run.mse_noisy);
  }
}

TEST_CASE("denoise-cosine matches numpy's version of the exercise, draw for draw") {
  // cosine_reference.py draws W1 (hidden, n), b, W2 (n, hidden) and the noise from
  // np.random.RandomState(seed) in the course's shapes and trains with numpy; the tool must
  // print the same costs (up to rounding: eigennet's GEMMs sum in another order).
  TempDir dir;
  const char* source_dir = std::getenv("EIGENNET_PLOT_TEST_DIR");
  REQUIRE(source_dir != nullptr);
  REQUIRE_MESSAGE(fs::exists("/usr/bin/python3"), "/usr/bin/python3 is missing: apt-get install python3-numpy");
  struct Case {
    std::string init;
    int samples, hidden, steps;
    double lr, noise;
    int seed;
  };
  for (const Case& c : {Case{"normal", 200, 10, 100, 0.02, 1.0, 42}, Case{"uniform", 120, 7, 40, 0.05, 0.5, 3}}) {
    const std::string args = std::to_string(c.samples) + " " + std::to_string(c.hidden) + " " +
                             std::to_string(c.steps) + " " + std::to_string(c.lr) + " " + std::to_string(c.noise) +
                             " " + c.init + " " + std::to_string(c.seed);
    const CommandResult ref =
        run_command(dir, "/usr/bin/python3 " + shell_quote(std::string(source_dir) + "/cosine_reference.py") + " " + args);
    INFO("reference (" << args << "):\n" << ref.out << ref.err);
    REQUIRE_MESSAGE(!contains(ref.err, "No module named 'numpy'"), "/usr/bin/python3 has no numpy: apt-get install python3-numpy");
    REQUIRE(ref.exit_code == 0);
    const CommandResult ours = run_command(
        dir, tool() + " --samples " + std::to_string(c.samples) + " --hidden " + std::to_string(c.hidden) +
                 " --steps " + std::to_string(c.steps) + " --lr " + std::to_string(c.lr) + " --noise-std " +
                 std::to_string(c.noise) + " --init " + c.init + " --seed " + std::to_string(c.seed));
    INFO("denoise-cosine:\n" << ours.out << ours.err);
    REQUIRE(ours.exit_code == 0);
    const CosineRun expected = parse(ref.out), got = parse(ours.out);
    REQUIRE(expected.costs.size() == std::size_t(c.steps));
    REQUIRE(got.costs.size() == expected.costs.size());
    for (std::size_t i = 0; i < got.costs.size(); ++i) {
      INFO("step " << i + 1);
      CHECK(got.costs[i] == doctest::Approx(expected.costs[i]).epsilon(1e-7));
    }
    CHECK(got.mse_output == doctest::Approx(expected.mse_output).epsilon(1e-6));
    CHECK(got.mse_noisy == doctest::Approx(expected.mse_noisy).epsilon(1e-9));
  }
}

TEST_CASE("denoise-cosine without gnuplot: a clear error naming the package, non-zero exit, no file") {
  TempDir dir;
  fs::create_directory(dir.file("bin"));
  const std::string png = dir.file("cosine.png");
  // PATH stripped to an empty folder (the tool is run by its full path), and the override.
  for (const std::string& env : {"env -u EIGENNET_GNUPLOT PATH=" + shell_quote(dir.file("bin")),
                                std::string("env EIGENNET_GNUPLOT=/nonexistent/gnuplot")}) {
    const CommandResult r = run_command(dir, env + " " + tool() + " --steps 3 --plot " + shell_quote(png));
    INFO(env << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "gnuplot not found"));
    CHECK(contains(r.err, "apt-get install gnuplot-nox"));
    CHECK(contains(r.out, "step 3 cost"));  // the training itself ran
    CHECK_FALSE(fs::exists(png));
  }
}

TEST_CASE("denoise-cosine --show without a display still writes the PNG and says why") {
  TempDir dir;
  const std::string png = dir.file("cosine.png");
  const CommandResult r =
      run_command(dir, "env -u DISPLAY " + tool() + " --steps 5 --show --plot " + shell_quote(png));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "no display"));
  CHECK(decode_png(png).error.empty());
}

TEST_CASE("denoise-cosine: divergence and bad flags are errors, not crashes") {
  TempDir dir;
  const CommandResult diverged = run_command(dir, tool() + " --lr 10");
  INFO(diverged.out << diverged.err);
  CHECK(diverged.exit_code == 1);
  CHECK(contains(diverged.err, "diverged"));
  for (const std::string flags : {"--init gaussian", "--samples 1", "--lr -1", "--show", "--steps 0"}) {
    const CommandResult bad = run_command(dir, tool() + " " + flags);
    INFO(flags << ": " << bad.out << bad.err);
    CHECK(bad.exit_code != 0);
    CHECK(bad.exit_code != 1);  // CLI11's usage errors, not a training failure
    CHECK_FALSE(bad.err.empty());
  }
}

// train-mnist --precision bf16 ($EIGENNET_TRAIN_MNIST), on the dataset the tool finds:
// - practical-mlp (float, 5 epochs) with bf16 products ends within 0.3 points of its float32 run
//   (measured on MNIST: 96.69% float32, 96.66% bf16), and its steps did change (the step losses
//   differ from the float32 run's, so the products really were rounded);
// - where oneDNN sees no AVX512-BF16/AMX (forced with ONEDNN_MAX_CPU_ISA=AVX512_CORE), a message
//   naming why, and the float32 run bit for bit;
// - bf16 with a double network or on the GPU: an error naming the flag, exit non-zero.
// Without bf16 here (no oneDNN, or a CPU without it) the comparison cases skip (exit 77).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "eigennet/gemm/precision.hpp"
#include "support/process.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"

using namespace eigennet_test;

namespace {

std::string tool() { return require_env("EIGENNET_TRAIN_MNIST"); }
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// practical-mlp in float, 5 epochs, one thread; its per-step log written to `log`.
CommandResult practical(const std::string& extra, const std::string& log) {
  return run_command(tool() + " --recipe practical-mlp --dtype float --threads 1 --log " + log + " " + extra);
}

}  // namespace

TEST_CASE("practical-mlp with bf16 products ends within 0.3 points of its float32 run") {
  const std::string why = eigennet::bf16_unavailable_reason();
  if (!why.empty()) return skip("bf16 products: " + why);
  const TempDir scratch;
  const CommandResult f32 = practical("", scratch.file("f32.csv"));
  const CommandResult bf16 = practical("--precision bf16", scratch.file("bf16.csv"));
  INFO(f32.output);
  INFO(bf16.output);
  REQUIRE(f32.status == 0);
  REQUIRE(bf16.status == 0);
  CHECK(contains(bf16.output, "precision: bf16 products"));
  CHECK_FALSE(contains(f32.output, "precision: bf16"));
  const double a32 = final_test_accuracy(f32), a16 = final_test_accuracy(bf16);
  MESSAGE("test accuracy: float32 " << a32 << "%, bf16 " << a16 << "%");
  CHECK(std::abs(a16 - a32) <= 0.3);
  CHECK(read(scratch.file("f32.csv")) != read(scratch.file("bf16.csv")));  // the products did round
}

TEST_CASE("where the CPU has no bf16, --precision bf16 says why and trains in float32, bit for bit") {
  const TempDir scratch;
  // Both runs on one pinned kernel (the planner might choose differently in each process).
  const std::string cpu_without = "EIGENNET_GEMM=eigen ONEDNN_MAX_CPU_ISA=AVX512_CORE ";
  const CommandResult f32 = run_command("EIGENNET_GEMM=eigen " + tool() +
                                        " --recipe practical-mlp --dtype float --threads 1 --epochs 1 --log " +
                                        scratch.file("f32.csv"));
  const CommandResult asked = run_command(cpu_without + tool() +
                                          " --recipe practical-mlp --dtype float --threads 1 --epochs 1 --log " +
                                          scratch.file("asked.csv") + " --precision bf16");
  INFO(asked.output);
  REQUIRE(f32.status == 0);
  CHECK(asked.status == 0);
  CHECK(contains(asked.output, "--precision bf16 is not available here"));
  CHECK_FALSE(contains(asked.output, "precision: bf16 products"));
  CHECK(final_test_accuracy(asked) == final_test_accuracy(f32));
  CHECK(read(scratch.file("asked.csv")) == read(scratch.file("f32.csv")));
}

TEST_CASE("--precision bf16 with a double network or on the GPU is an error naming it") {
  const CommandResult dbl = run_command(tool() + " --recipe notebook-mlp --precision bf16");
  INFO(dbl.output);
  CHECK(dbl.status != 0);
  CHECK(contains(dbl.output, "not with a double network"));
  const CommandResult gpu = run_command(tool() + " --dtype float --precision bf16 --device cuda");
  INFO(gpu.output);
  CHECK(gpu.status != 0);
  CHECK(contains(gpu.output, "--precision bf16"));
  const CommandResult bad = run_command(tool() + " --precision fp8");
  CHECK(bad.status != 0);
  CHECK(contains(bad.output, "fp8"));
}

// --precision for the tools (train-mnist, gradcheck, eigennet-bench): float32 products, or bf16
// products (gemm/precision.hpp: operands rounded to bfloat16, float32 accumulation, float32 weights
// and update). The one place a tool turns the flag into the library's setting.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "eigennet/gemm/precision.hpp"

namespace eigennet::tools {

// Every accepted spelling, for CLI11's IsMember.
inline const std::vector<std::string>& precision_spellings() {
  static const std::vector<std::string> spellings = {"float32", "fp32", "bf16", "bfloat16"};
  return spellings;
}

// Sets the products' precision from the flag's value and returns the one in force. bf16 rounds
// the CPU's float32 products only: with a `device` other than "cpu", or with a double network, it
// is an error naming the flag (std::invalid_argument). Where this build or CPU cannot run bf16
// products, `tool` says why on stderr and float32 stays, as promised to the user: the run goes on
// in the precision the machine has.
inline GemmPrecision apply_precision(const std::string& text, Dtype dtype, const char* tool,
                                     const std::string& device = "cpu") {
  const GemmPrecision wanted = parse_gemm_precision(text);
  if (wanted == GemmPrecision::Float32) {
    set_gemm_precision(GemmPrecision::Float32);
    return GemmPrecision::Float32;
  }
  if (device != "cpu")
    throw std::invalid_argument("--precision " + text + " rounds the CPU's products: not with --device " + device +
                                " (on the GPU, --tf32)");
  if (dtype != Dtype::Float)
    throw std::invalid_argument("--precision " + text +
                                " rounds float32 products to bfloat16: not with a double network (add --dtype float)");
  const std::string why = bf16_unavailable_reason();
  if (!why.empty()) {
    std::fprintf(stderr, "%s: --precision %s is not available here: %s; running in float32\n", tool, text.c_str(),
                 why.c_str());
    return GemmPrecision::Float32;
  }
  set_gemm_precision(GemmPrecision::Bf16);
  return GemmPrecision::Bf16;
}

}  // namespace eigennet::tools

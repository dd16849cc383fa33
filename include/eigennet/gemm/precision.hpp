// Opt-in bfloat16 products: the precision of float GEMMs, for the whole process.
//
//   Float32 (the default)  float products in float32, as written.
//   Bf16                   each float product's operands rounded to bfloat16 (8-bit mantissa,
//                          round to nearest even), multiplied with float32 accumulation into a
//                          float32 C (oneDNN's matmul on AVX512-BF16 or AMX). Everything else stays
//                          float32: the network's weights (the "master" copy the update writes),
//                          activations, losses, the update itself. Only the products round.
// Double products are never touched. A plugged-in backend (set_gemm_backend) takes every product
// whatever the precision. Bf16 replaces the planner's choice for float products: pinning a kernel
// then applies to double products only.
//
// Allocation: each product's oneDNN primitive and bf16 buffers are made on its first call and kept
// (per thread); later calls allocate only the argument map oneDNN's execution builds (a few small
// blocks per product, the same every step), so a bf16 step is not free of allocations as a
// float32 step is.
//
// Accuracy: a product's relative error grows from float32's ~1e-7 to bf16's ~4e-3 per operand
// (2^-8 relative rounding of each input, summed over k terms with random signs). Training reaches
// about the same accuracy (tools/train-mnist --precision bf16; README: numbers); gradients are
// held to the float32 backward by `gradcheck --precision bf16`.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace eigennet {

enum class GemmPrecision { Float32, Bf16 };

const char* gemm_precision_name(GemmPrecision precision);  // "float32", "bf16"
// The precision of that name ("float32" or "fp32", "bf16" or "bfloat16"); throws
// std::invalid_argument naming the value and the choices.
GemmPrecision parse_gemm_precision(const std::string& name);

// Empty where bf16 products can run here: this build has oneDNN and the CPU has AVX512-BF16 or
// AMX (as oneDNN sees it, so ONEDNN_MAX_CPU_ISA limits it too). Otherwise one sentence saying why.
std::string bf16_unavailable_reason();

// Sets the precision of all later float products. Bf16 where bf16_unavailable_reason() is not
// empty throws std::runtime_error with that reason (the precision stays as it was). Not while
// products run on other threads.
void set_gemm_precision(GemmPrecision precision);
GemmPrecision gemm_precision();

// Float products in `precision` for the guard's scope; the precision before comes back when the
// scope ends, an exception included. The constructor throws as set_gemm_precision does (the
// precision then stays as it was, and nothing is restored). Nest them freely; not while products
// run on other threads.
class GemmPrecisionScope {
 public:
  explicit GemmPrecisionScope(GemmPrecision precision) : before_(gemm_precision()) { set_gemm_precision(precision); }
  ~GemmPrecisionScope() {
    try {
      set_gemm_precision(before_);
    } catch (...) {  // not reached: the precision before was in force, so it can run here
    }
  }
  GemmPrecisionScope(const GemmPrecisionScope&) = delete;
  GemmPrecisionScope& operator=(const GemmPrecisionScope&) = delete;

 private:
  GemmPrecision before_;
};

// The relative error a gradient computed with bf16 products may have against the float32 backward
// and against central differences (gradcheck --precision bf16), in the checker's measure
// ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖): 5e-2 is a 10% difference. Measured on gradcheck's models (AMD Zen 5,
// AVX512-BF16): the MLPs 1e-3 … 8e-3; the CNNs up to 3.2e-2, where the rounded forward flips a few
// max-pool and ReLU choices and sends those gradients elsewhere. A backward 25% off in one tensor,
// or without its ReLU mask, fails it (tests/core/test_gemm_bf16.cpp).
inline constexpr double kBf16GradientTolerance = 5e-2;

// float → bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN, ±Inf stays ±Inf; a
// value beyond bf16's largest rounds to ±Inf), and back (exact). The rounding every bf16 product
// applies to its operands.
inline std::uint16_t to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x0040u);  // NaN: keep it quiet
  return std::uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
inline float from_bf16(std::uint16_t bits) {
  const std::uint32_t wide = std::uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

}  // namespace eigennet

// eigennet's own float GEMM kernel for the planner (gemm.cpp): packed panels and a
// register-blocked micro-kernel in AVX-512 or AVX2 + FMA intrinsics (simd_kernel.hpp). The
// instruction set is chosen at run time from the CPU (and the OS's support for its registers,
// which __builtin_cpu_supports checks), so a portable build (-Dnative=false) has it too. Other
// CPUs (no AVX2, not x86-64) have no such kernel: gemm_kernel_available says so.
//
// Why a kernel of our own: Eigen's kernel reaches ~0.66 of the FMA peak on these products and
// oneDNN's dnnl_sgemm more, but dnnl_sgemm allocates on every call (onednn_backend.cpp). This
// one allocates its packing space once per thread (growing only for a larger product) and
// nothing after, like Eigen's.
//
// Threads: like every kernel it runs inside eigennet's split (split_gemm), single-threaded.
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "gemm/backend.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EIGENNET_SIMD_X86 1
#endif

namespace eigennet {
namespace {

#ifdef EIGENNET_SIMD_X86
// The kernel, compiled once per instruction set (see simd_kernel.hpp).
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define EIGENNET_SIMD_NAMESPACE simd_avx2
#define EIGENNET_SIMD_WIDTH 8
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_WIDTH
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define EIGENNET_SIMD_NAMESPACE simd_avx512
#define EIGENNET_SIMD_WIDTH 16
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_WIDTH
#pragma GCC pop_options
#endif

SimdIsa detect_isa() {
#ifdef EIGENNET_SIMD_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return SimdIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdIsa::Avx2;
#endif
  return SimdIsa::None;
}

SimdIsa& isa_slot() {
  static SimdIsa isa = detect_isa();
  return isa;
}

// Packing space of one thread, 64-byte aligned; grows, never shrinks.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(data_); }
  float* get(Index floats) {
    if (floats > size_) {
      std::free(data_);
      data_ = nullptr;
      const std::size_t bytes = (std::size_t(floats) * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      size_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  Index size_ = 0;
};

}  // namespace

SimdIsa simd_isa() { return isa_slot(); }

const char* simd_isa_name(SimdIsa isa) {
  switch (isa) {
    case SimdIsa::Avx512: return "avx512";
    case SimdIsa::Avx2: return "avx2";
    case SimdIsa::None: break;
  }
  return "none";
}

void set_simd_isa(SimdIsa isa) {
  if (int(isa) > int(detect_isa()))
    throw std::invalid_argument(std::string("simd kernel: this CPU cannot run ") + simd_isa_name(isa) +
                                " (it has " + simd_isa_name(detect_isa()) + ")");
  isa_slot() = isa;
}

void simd_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                     const float* b, Index ldb, float beta, float* c, Index ldc) {
  const SimdIsa isa = isa_slot();
  if (isa == SimdIsa::None || m == 0 || n == 0 || k == 0)
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#ifdef EIGENNET_SIMD_X86
  thread_local Workspace work;
  if (isa == SimdIsa::Avx512)
    simd_avx512::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work.get(simd_avx512::work_floats(m)));
  else
    simd_avx2::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work.get(simd_avx2::work_floats(m)));
#endif
}

}  // namespace eigennet

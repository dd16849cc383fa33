// eigennet's own GEMM kernel (float and double) for the planner (gemm.cpp): packed panels and a
// register-blocked micro-kernel in AVX-512 or AVX2 + FMA intrinsics (simd_kernel.hpp). The
// instruction set is chosen at run time from the CPU (and the OS's support for its registers,
// which __builtin_cpu_supports checks), so a portable build (-Dnative=false) has it too. Other
// CPUs (no AVX2, not x86-64) have no such kernel: gemm_kernel_available says so.
//
// Why a kernel of our own: Eigen's kernel reaches ~0.66 of the FMA peak on these products and
// oneDNN's dnnl_sgemm more, but dnnl_sgemm allocates on every call (onednn_backend.cpp) and has no
// double; OpenBLAS allocates on some calls on some CPUs. This one allocates its packing space once
// per thread (growing only for a larger product) and nothing after, like Eigen's.
//
// Threads: like every kernel it runs inside eigennet's split (split_gemm), single-threaded.
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "gemm/backend.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EIGENNET_SIMD_X86 1
#endif

namespace eigennet {
namespace {

#ifdef EIGENNET_SIMD_X86
// The kernel, compiled once per scalar type and instruction set (see simd_kernel.hpp).
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define EIGENNET_SIMD_BITS 256
#define EIGENNET_SIMD_DOUBLE 0
#define EIGENNET_SIMD_NAMESPACE simd_avx2_float
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_DOUBLE
#define EIGENNET_SIMD_DOUBLE 1
#define EIGENNET_SIMD_NAMESPACE simd_avx2_double
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_DOUBLE
#undef EIGENNET_SIMD_BITS
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define EIGENNET_SIMD_BITS 512
#define EIGENNET_SIMD_DOUBLE 0
#define EIGENNET_SIMD_NAMESPACE simd_avx512_float
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_DOUBLE
#define EIGENNET_SIMD_DOUBLE 1
#define EIGENNET_SIMD_NAMESPACE simd_avx512_double
#include "gemm/simd_kernel.hpp"
#undef EIGENNET_SIMD_NAMESPACE
#undef EIGENNET_SIMD_DOUBLE
#undef EIGENNET_SIMD_BITS
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

// L2 of a core, as the OS reports it (sysconf); 512 KiB where it does not say. Sizes B's blocks.
Index l2_bytes() {
  static const Index bytes = [] {
    const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return reported > 0 ? Index(reported) : Index(512) * 1024;
  }();
  return bytes;
}

// Packing space of one thread, 64-byte aligned; grows, never shrinks. Float and double products
// share it.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(data_); }
  template <typename Scalar>
  Scalar* get(Index elements) {
    const std::size_t bytes = (std::size_t(elements) * sizeof(Scalar) + 63) / 64 * 64;
    if (bytes > bytes_) {
      std::free(data_);
      data_ = std::aligned_alloc(64, bytes);
      if (!data_) {
        bytes_ = 0;
        throw std::bad_alloc();
      }
      bytes_ = bytes;
    }
    return static_cast<Scalar*>(data_);
  }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

Workspace& workspace() {
  thread_local Workspace work;
  return work;
}

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

// The product on this thread in the instruction set chosen, with this thread's workspace.
template <typename Scalar>
void simd_sequential(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                     const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  const SimdIsa isa = isa_slot();
  if (isa == SimdIsa::None || m == 0 || n == 0 || k == 0)
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#ifdef EIGENNET_SIMD_X86
  Workspace& work = workspace();
  const bool avx512 = isa == SimdIsa::Avx512;
  if constexpr (sizeof(Scalar) == sizeof(float)) {
    if (avx512)
      simd_avx512_float::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                              simd_avx512_float::block_columns(l2_bytes()),
                              work.get<Scalar>(simd_avx512_float::work_elements(m)));
    else
      simd_avx2_float::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                            simd_avx2_float::block_columns(l2_bytes()),
                            work.get<Scalar>(simd_avx2_float::work_elements(m)));
  } else {
    if (avx512)
      simd_avx512_double::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                               simd_avx512_double::block_columns(l2_bytes()),
                               work.get<Scalar>(simd_avx512_double::work_elements(m)));
    else
      simd_avx2_double::gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                             simd_avx2_double::block_columns(l2_bytes()),
                             work.get<Scalar>(simd_avx2_double::work_elements(m)));
  }
#endif
}

template void simd_sequential<float>(Op, Op, Index, Index, Index, float, const float*, Index, const float*, Index,
                                     float, float*, Index);
template void simd_sequential<double>(Op, Op, Index, Index, Index, double, const double*, Index, const double*,
                                      Index, double, double*, Index);

}  // namespace eigennet

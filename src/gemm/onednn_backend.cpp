// oneDNN's GEMM kernel for the planner (gemm.cpp), compiled where meson finds oneDNN (Debian
// libdnnl-dev; option -Donednn, auto). oneDNN 2.6's C API has dnnl_sgemm only (row-major, BLAS
// arguments), so this kernel serves float products; double products never get it.
//
// Allocation: dnnl_sgemm allocates its packing workspace on every call (measured here with the
// tests' malloc counter: one allocation per call, for every shape tried, 2×3×4 to 784×1000×40).
// The planner therefore counts it as a kernel that allocates (gemm_kernel_allocates), and only
// chooses it when allowed to (EIGENNET_GEMM=all, set_gemm_planning) or pinned to it.
//
// Threads: like every kernel it runs inside eigennet's own split (split_gemm), single-threaded.
// Debian's oneDNN uses OpenMP and takes omp_get_max_threads() threads unless it is called inside
// a parallel region; on the calling thread the OpenMP thread count is set to 1 around the call
// and restored after (a per-thread setting; no allocation).
#include <oneapi/dnnl/dnnl.h>

#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm/backend.hpp"

namespace eigennet {

void onednn_sequential(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                       const float* b, Index ldb, float beta, float* c, Index ldc) {
  if (!blas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc, Index(1) << 62))
    return eigen_sequential(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  if (saved != 1) omp_set_num_threads(1);
#endif
  const dnnl_status_t status = dnnl_sgemm(op_a == Op::None ? 'N' : 'T', op_b == Op::None ? 'N' : 'T', m, n, k,
                                          alpha, a, lda, b, ldb, beta, c, ldc);
#ifdef _OPENMP
  if (saved != 1) omp_set_num_threads(saved);
#endif
  if (status != dnnl_success)
    throw std::runtime_error("gemm: oneDNN's dnnl_sgemm failed (status " + std::to_string(int(status)) + ") for " +
                             shape_string(m, k) + " x " + shape_string(k, n));
}

}  // namespace eigennet

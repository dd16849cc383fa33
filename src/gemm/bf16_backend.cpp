// bfloat16 products (gemm/precision.hpp) on oneDNN's matmul primitive, compiled where meson finds
// oneDNN. oneDNN 2.6 takes bf16 operands only as bf16 memory (its fpmath_mode attribute is not
// honoured by its matmul), so each product rounds op(A) and op(B) into bf16 buffers of its own,
// then runs one matmul: bf16 × bf16 → float32 C, float32 accumulation, alpha as the output scale
// and beta·C as a sum post-op.
//
// Per thread, per product (shapes, strides, transpositions, alpha, beta, threads): the primitive,
// its scratchpad and the two bf16 buffers, made on the first call and kept; a later call rounds
// the operands into the buffers and executes, allocating nothing.
//
// Threads: the rounding is split over the product's threads (threads_for, as every kernel); the
// matmul runs on oneDNN's OpenMP team of that many threads (one inside a parallel region, e.g.
// DataParallel's replicas). Splitting C ourselves instead would round the shared operand once per
// thread.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "eigennet/gemm/precision.hpp"
#include "gemm/backend.hpp"

namespace eigennet {
namespace {

// dnnl_cpu_isa_avx512_core_bf16's bits: set in every ISA oneDNN may use for bf16 (AMX included).
constexpr unsigned kBf16IsaBits = unsigned(dnnl_cpu_isa_avx512_core_bf16);

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Sets the calling thread's OpenMP team size for oneDNN while alive; restores it after.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    if (saved_ != threads) omp_set_num_threads(threads);
    wanted_ = threads;
#else
    (void)threads;
#endif
  }
  ~OmpThreads() {
#ifdef _OPENMP
    if (saved_ != wanted_) omp_set_num_threads(saved_);
#endif
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_ = 1, wanted_ = 1;
};

struct Key {
  Op op_a, op_b;
  Index m, n, k, lda, ldb, ldc;
  float alpha, beta;
  int threads;
  bool operator==(const Key& o) const {
    return op_a == o.op_a && op_b == o.op_b && m == o.m && n == o.n && k == o.k && lda == o.lda &&
           ldb == o.ldb && ldc == o.ldc && std::memcmp(&alpha, &o.alpha, sizeof alpha) == 0 &&
           std::memcmp(&beta, &o.beta, sizeof beta) == 0 && threads == o.threads;
  }
};

using dims = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

// op(X) as an r×c bf16 matrix stored contiguously as X is laid out: r×c (None) or c×r (Transpose).
dnnl::memory::desc bf16_desc(Op op, Index r, Index c) {
  return dnnl::memory::desc(dims{r, c}, dt::bf16, op == Op::None ? dims{c, 1} : dims{1, r});
}

struct Plan {
  Key key;
  dnnl::matmul primitive;
  std::vector<std::uint16_t> a, b;  // op(A), op(B) rounded, X's layout without its row padding
  std::vector<unsigned char> scratchpad;
  dnnl::memory a_mem, b_mem, c_mem, scratch_mem;
  dnnl::stream stream;

  explicit Plan(const Key& k_) : key(k_) {
    const Key& p = key;
    const dnnl::memory::desc a_desc = bf16_desc(p.op_a, p.m, p.k), b_desc = bf16_desc(p.op_b, p.k, p.n);
    const dnnl::memory::desc c_desc(dims{p.m, p.n}, dt::f32, dims{p.ldc, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (p.alpha != 1.0f) attr.set_output_scales(0, {p.alpha});
    if (p.beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(p.beta);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_desc, b_desc, c_desc), attr, cpu_engine());
    primitive = dnnl::matmul(pd);
    a.resize(std::size_t(p.m * p.k));
    b.resize(std::size_t(p.k * p.n));
    scratchpad.resize(pd.scratchpad_desc().get_size());
    a_mem = dnnl::memory(a_desc, cpu_engine(), a.data());
    b_mem = dnnl::memory(b_desc, cpu_engine(), b.data());
    c_mem = dnnl::memory(c_desc, cpu_engine(), DNNL_MEMORY_NONE);
    scratch_mem = dnnl::memory(pd.scratchpad_desc(), cpu_engine(), scratchpad.data());
    stream = dnnl::stream(cpu_engine());
  }
};

// Rounds `rows` rows of `cols` floats (row stride ld) into a contiguous bf16 buffer.
void round_rows(const float* x, Index rows, Index cols, Index ld, std::uint16_t* out, int threads) {
  parallel_for(threads, threads, [&](Index part, int) {
    const Index begin = rows * part / threads, end = rows * (part + 1) / threads;
    for (Index r = begin; r < end; ++r) {
      const float* row = x + r * ld;
      std::uint16_t* dst = out + r * cols;
      for (Index c = 0; c < cols; ++c) dst[c] = to_bf16(row[c]);
    }
  });
}

}  // namespace

std::string onednn_bf16_unavailable_reason() {
  const unsigned isa = unsigned(dnnl::get_effective_cpu_isa());
  if ((isa & kBf16IsaBits) == kBf16IsaBits) return "";
  return "this CPU has neither AVX512-BF16 nor AMX (as oneDNN " + std::to_string(dnnl_version()->major) + "." +
         std::to_string(dnnl_version()->minor) + " sees it" +
         (std::getenv("ONEDNN_MAX_CPU_ISA") ? std::string(", ONEDNN_MAX_CPU_ISA=") + std::getenv("ONEDNN_MAX_CPU_ISA")
                                            : std::string()) +
         "), so bf16 products would be emulated, slower than float32";
}

void onednn_bf16_gemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                      const float* b, Index ldb, float beta, float* c, Index ldc) {
  if (!blas_can_take(op_a, op_b, m, n, k, lda, ldb, ldc, Index(1) << 40))
    return split_gemm<float>(eigen_sequential<float>, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const int threads = threads_for(m * n * k);
  const Key key{op_a, op_b, m, n, k, lda, ldb, ldc, alpha, beta, threads};
  thread_local std::vector<std::unique_ptr<Plan>> plans;
  Plan* plan = nullptr;
  for (auto& p : plans)
    if (p->key == key) plan = p.get();
  OmpThreads team(threads);
  try {
    if (!plan) plan = plans.emplace_back(std::make_unique<Plan>(key)).get();
  } catch (const dnnl::error& e) {
    throw std::runtime_error("gemm: oneDNN has no bf16 matmul for " + shape_string(m, k) + " x " +
                             shape_string(k, n) + ": " + e.what());
  }
  // op(A) is stored as A is: m rows of k (None) or k rows of m (Transpose); op(B) likewise.
  const int round_threads = threads_for(m * k + k * n);
  if (op_a == Op::None) round_rows(a, m, k, lda, plan->a.data(), round_threads);
  else round_rows(a, k, m, lda, plan->a.data(), round_threads);
  if (op_b == Op::None) round_rows(b, k, n, ldb, plan->b.data(), round_threads);
  else round_rows(b, n, k, ldb, plan->b.data(), round_threads);
  plan->c_mem.set_data_handle(c);
  // The C API with a fixed argument array: the C++ execute() builds a map on every call.
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, plan->a_mem.get()},
                                  {DNNL_ARG_WEIGHTS, plan->b_mem.get()},
                                  {DNNL_ARG_DST, plan->c_mem.get()},
                                  {DNNL_ARG_SCRATCHPAD, plan->scratch_mem.get()}};
  const dnnl_status_t status = dnnl_primitive_execute(plan->primitive.get(), plan->stream.get(), 4, args);
  if (status != dnnl_success)
    throw std::runtime_error("gemm: oneDNN's bf16 matmul failed (status " + std::to_string(int(status)) + ") for " +
                             shape_string(m, k) + " x " + shape_string(k, n));
}

}  // namespace eigennet

// The GEMM planner (FFTW's idea): with no backend plugged in, each distinct product — scalar
// type, op(A)/op(B), m, n, k and the number of threads it is split over — is timed on its first
// call with every CPU kernel that this build has and may choose, on the caller's real operands,
// and from then on runs on the fastest. Planning allocates (the plan's entry, a copy of C to
// restore between trials); a planned product only looks its entry up and allocates nothing.
//
// Every kernel runs inside eigennet's own split of the product over threads (threads.hpp; the
// same split for each kernel), single-threaded on each part: OpenBLAS's and oneDNN's own thread
// pools are not used.
//
// Kernels: Eigen's blocked kernel (always); OpenBLAS's and oneDNN's (where found at configure
// time); simd, eigennet's own float kernel in AVX-512 or AVX2 + FMA (src/gemm/simd_backend.cpp),
// wherever the CPU running the program has either.
//
// Choosing: EIGENNET_GEMM (read at the first product), or the calls below.
//   auto      measure the kernels that allocate nothing per call: Eigen, simd
//   all       measure every kernel built in, OpenBLAS and oneDNN too (oneDNN's dnnl_sgemm allocates
//             its workspace on every call, OpenBLAS on some products on some CPUs; a training
//             step is then no longer free of allocations)
//   eigen | openblas | onednn | simd
//             pin: every product on that kernel, no measuring — for runs that must repeat bit
//             for bit (a measured choice can differ from run to run, and kernels round differently).
//             oneDNN 2.6 has no double GEMM: pinned to it, double products run on Eigen.
// Anything else is an error that names the value and the choices. Without EIGENNET_GEMM the
// choice is auto: the planner. A measured choice can differ between runs (close kernels swap
// places), and kernels round differently, so a run that must give the same bits as another pins
// a kernel (EIGENNET_GEMM=eigen).
// A measuring choice's candidates for a scalar type are the kernels built for it that it admits;
// where that leaves one (auto on a CPU without AVX2), it runs unmeasured and nothing enters the
// plan.
//
// The planner times each product's first call; products of the same key on later calls reuse
// the choice whatever their strides. Its table holds 4096 products; beyond that, new products run
// on Eigen's kernel unmeasured (print_gemm_plan counts them).
#pragma once

#include <array>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "eigennet/types.hpp"

namespace eigennet {

enum class Op;

enum class GemmKernel { Eigen, OpenBlas, OneDnn, Simd };
constexpr int kGemmKernelCount = 4;
enum class GemmScalar { Float, Double };

const char* gemm_kernel_name(GemmKernel kernel);  // "eigen", "openblas", "onednn", "simd"
// The kernel of that name; throws std::invalid_argument naming the value and the choices.
GemmKernel parse_gemm_kernel(const std::string& name);
// Whether this build has the kernel for that scalar type (OpenBLAS, oneDNN: found at configure
// time; simd: this CPU has AVX2 + FMA or AVX-512; oneDNN: float only).
bool gemm_kernel_available(GemmKernel kernel, GemmScalar scalar);
// Whether the kernel may allocate per call (oneDNN's dnnl_sgemm always; OpenBLAS on some
// products on some CPUs): `auto` leaves those out.
bool gemm_kernel_allocates(GemmKernel kernel);
// The kernels of this build, in GemmKernel order.
std::vector<GemmKernel> gemm_kernels_built();

// Applies a value as EIGENNET_GEMM would ("auto", "all", "eigen", "openblas", "onednn", "simd"). Throws
// std::invalid_argument naming the value and the choices for an unknown value, or for a kernel
// this build lacks (naming the kernels it has).
void set_gemm_choice(const std::string& choice);
// The value in force, in the same words.
std::string gemm_choice();
// Pins every product to `kernel` (throws like set_gemm_choice if this build lacks it).
void pin_gemm_kernel(GemmKernel kernel);
std::optional<GemmKernel> pinned_gemm_kernel();

// One distinct product, as the planner keys it.
struct GemmProduct {
  GemmScalar scalar;
  Op op_a, op_b;
  Index m, n, k;
  int threads;  // the threads the product is split over (threads_for: by size, 1 inside a parallel region)
  bool operator==(const GemmProduct& o) const;
};

// One entry of the plan: the kernel chosen and the seconds each kernel took (the fastest of
// several timed runs; NaN where it was not a candidate; as saved for an entry loaded from a file).
struct GemmPlanEntry {
  GemmProduct product;
  GemmKernel kernel;
  std::array<double, kGemmKernelCount> seconds;
  bool loaded;  // from load_gemm_plan, not measured in this process
};

// The choice from measured seconds (NaN: not a candidate): the fastest, a tie going to the
// earlier kernel in GemmKernel order. Throws std::invalid_argument if no entry is a number.
GemmKernel fastest_gemm_kernel(const std::array<double, kGemmKernelCount>& seconds);

std::vector<GemmPlanEntry> gemm_plan();
// A table: one row per product with the time of each kernel and the choice, and a header line
// that says which kernels were built, which were candidates, and what is pinned.
void print_gemm_plan(std::ostream& out);
// Text, one line per entry; load_gemm_plan adds its entries (replacing those of the same products)
// and the planner then uses them as chosen, without measuring. Loading throws std::runtime_error
// naming the file and line for a malformed line, an unknown kernel, or a kernel this build lacks.
// Neither may run while products run on other threads.
void save_gemm_plan(const std::string& path);
void load_gemm_plan(const std::string& path);
void write_gemm_plan(std::ostream& out);
void read_gemm_plan(std::istream& in, const std::string& source_name);
// Forgets every entry: the next call of each product measures again.
void clear_gemm_plan();

// For tests: planning asks `timer` for each candidate kernel's seconds instead of timing runs (an
// empty function restores the clock). The product is still computed by the chosen kernel.
using GemmTimer = std::function<double(const GemmProduct&, GemmKernel)>;
void set_gemm_timer(GemmTimer timer);

}  // namespace eigennet

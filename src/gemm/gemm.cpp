// The GEMM seam: shape checks, then the one place that decides where a product runs — a backend
// plugged in with set_gemm_backend, else a CPU kernel: the pinned one, or the planner's choice
// for that product (measured on its first call, looked up after). Kernels: eigen_backend.cpp,
// openblas_backend.cpp, onednn_backend.cpp, simd_backend.cpp; the split over threads: backend.hpp.
#include "eigennet/gemm/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <istream>
#include <limits>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "eigennet/gemm/precision.hpp"
#include "gemm/backend.hpp"

namespace eigennet {

// ---- Kernels -----------------------------------------------------------------------------------

const char* gemm_kernel_name(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Eigen: return "eigen";
    case GemmKernel::OpenBlas: return "openblas";
    case GemmKernel::OneDnn: return "onednn";
    case GemmKernel::Simd: return "simd";
  }
  return "?";
}

namespace {

// "eigen, openblas, onednn, simd": every kernel's name, for the errors that list the choices.
std::string every_kernel_name() {
  std::string names;
  for (int i = 0; i < kGemmKernelCount; ++i) names += (i ? ", " : "") + std::string(gemm_kernel_name(GemmKernel(i)));
  return names;
}

}  // namespace

GemmKernel parse_gemm_kernel(const std::string& name) {
  for (int i = 0; i < kGemmKernelCount; ++i)
    if (name == gemm_kernel_name(GemmKernel(i))) return GemmKernel(i);
  throw std::invalid_argument("unknown GEMM kernel '" + name + "' (choices: " + every_kernel_name() + ")");
}

template <>
SequentialGemm<float> sequential_kernel<float>(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Eigen: return eigen_sequential<float>;
#ifdef EIGENNET_HAVE_OPENBLAS
    case GemmKernel::OpenBlas: return openblas_sequential;
#endif
#ifdef EIGENNET_HAVE_ONEDNN
    case GemmKernel::OneDnn: return onednn_sequential;
#endif
    case GemmKernel::Simd: return simd_isa() == SimdIsa::None ? nullptr : simd_sequential<float>;
    default: return nullptr;
  }
}
template <>
SequentialGemm<double> sequential_kernel<double>(GemmKernel kernel) {
  switch (kernel) {
    case GemmKernel::Eigen: return eigen_sequential<double>;
#ifdef EIGENNET_HAVE_OPENBLAS
    case GemmKernel::OpenBlas: return openblas_sequential;
#endif
    case GemmKernel::Simd: return simd_isa() == SimdIsa::None ? nullptr : simd_sequential<double>;
    default: return nullptr;  // oneDNN 2.6 has no double GEMM
  }
}

bool gemm_kernel_available(GemmKernel kernel, GemmScalar scalar) {
  return scalar == GemmScalar::Float ? sequential_kernel<float>(kernel) != nullptr
                                     : sequential_kernel<double>(kernel) != nullptr;
}
// oneDNN's dnnl_sgemm allocates on every call; OpenBLAS on some products on some CPUs
// (openblas_backend.cpp). Eigen's and simd's kernels allocate once per thread and shape.
bool gemm_kernel_allocates(GemmKernel kernel) {
  return kernel == GemmKernel::OneDnn || kernel == GemmKernel::OpenBlas;
}

std::vector<GemmKernel> gemm_kernels_built() {
  std::vector<GemmKernel> built;
  for (int i = 0; i < kGemmKernelCount; ++i)
    if (gemm_kernel_available(GemmKernel(i), GemmScalar::Float)) built.push_back(GemmKernel(i));
  return built;
}

namespace {

std::string kernel_list(const std::vector<GemmKernel>& kernels) {
  std::string list;
  for (GemmKernel k : kernels) list += (list.empty() ? "" : ", ") + std::string(gemm_kernel_name(k));
  return list;
}

// ---- Settings: measure (auto / all) or pinned ----------------------------------------------------

enum Mode : int { kAuto, kAll, kPinned };

struct Settings {
  std::atomic<int> mode{kAuto};
  std::atomic<int> pinned{int(GemmKernel::Eigen)};
  int measured_under = kAuto;  // the measuring mode of the plan's measured entries (under the table's mutex)
};

// Parses an EIGENNET_GEMM value into (mode, pinned kernel); `what` names it in errors.
std::pair<Mode, GemmKernel> parse_choice(const std::string& value, const std::string& what) {
  if (value == "auto") return {kAuto, GemmKernel::Eigen};
  if (value == "all") return {kAll, GemmKernel::Eigen};
  for (int i = 0; i < kGemmKernelCount; ++i)
    if (value == gemm_kernel_name(GemmKernel(i))) {
      if (GemmKernel(i) == GemmKernel::Simd && !gemm_kernel_available(GemmKernel::Simd, GemmScalar::Float))
        throw std::invalid_argument(what + ": the simd kernel needs a CPU with AVX2 and FMA, or AVX-512, and this "
                                    "one has neither (kernels here: " + kernel_list(gemm_kernels_built()) + ")");
      if (!gemm_kernel_available(GemmKernel(i), GemmScalar::Float))
        throw std::invalid_argument(what + ": this build of eigennet has no " + value + " kernel (built in: " +
                                    kernel_list(gemm_kernels_built()) +
                                    "; install libopenblas-dev / libdnnl-dev and configure again)");
      return {kPinned, GemmKernel(i)};
    }
  throw std::invalid_argument(what + ": unknown value (choices: auto, all, " + every_kernel_name() + ")");
}

// Without EIGENNET_GEMM: the planner, so that every machine runs each product on its fastest
// kernel (on one Xeon OpenBLAS's is 1.2× Eigen's on large products; on Zen 5 Eigen's wins most).
// A measured choice can differ from one run to the next (timings are noisy, and close kernels swap
// places), and kernels round differently: runs that must repeat bit for bit pin a kernel
// (EIGENNET_GEMM=eigen, or pin_gemm_kernel).
constexpr const char* kDefaultChoice = "auto";

// Read once, from EIGENNET_GEMM; an invalid value makes every product throw the same error.
Settings& settings() {
  static const std::pair<Mode, GemmKernel> from_env = [] {
    const char* env = std::getenv("EIGENNET_GEMM");
    if (!env || !*env) return parse_choice(kDefaultChoice, "the default GEMM choice");
    return parse_choice(env, std::string("EIGENNET_GEMM=") + env);
  }();
  static Settings s{{from_env.first}, {int(from_env.second)}, from_env.first == kAll ? kAll : kAuto};
  return s;
}

// ---- The plan --------------------------------------------------------------------------------------
// A fixed array of entries: readers scan the published ones without a lock (an entry is written
// before `size` is raised past it and not changed after, except by load/clear, which must not run
// alongside products); writers take the mutex. A full table plans no more products: those run
// on Eigen's kernel and are counted.

struct Table {
  static constexpr int kCapacity = 4096;
  std::unique_ptr<GemmPlanEntry[]> entries{new GemmPlanEntry[kCapacity]};
  std::atomic<int> size{0};
  std::atomic<long> unplanned{0};
  std::mutex mutex;
  GemmTimer timer;  // under mutex
};

Table& table() {
  static Table t;
  return t;
}

const GemmPlanEntry* find(const Table& t, const GemmProduct& p) {
  const int n = t.size.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    if (t.entries[i].product == p) return &t.entries[i];
  return nullptr;
}

// Adds or replaces an entry (caller holds the mutex). False if the table is full.
bool put(Table& t, const GemmPlanEntry& entry) {
  const int n = t.size.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i)
    if (t.entries[i].product == entry.product) {
      t.entries[i] = entry;
      return true;
    }
  if (n == Table::kCapacity) return false;
  t.entries[n] = entry;
  t.size.store(n + 1, std::memory_order_release);
  return true;
}

// The kernels measured for this scalar type: built, and allowed to allocate or not allocating.
template <typename Scalar>
int candidates(Mode mode, std::array<GemmKernel, kGemmKernelCount>& out) {
  int count = 0;
  for (int i = 0; i < kGemmKernelCount; ++i) {
    const GemmKernel k = GemmKernel(i);
    if (gemm_kernel_available(k, scalar_of<Scalar>()) && (mode == kAll || !gemm_kernel_allocates(k)))
      out[count++] = k;
  }
  return count;
}

// Times each candidate on the caller's operands (time_alternatives), or asks the test's timer;
// records and returns the fastest.
template <typename Scalar>
GemmKernel plan(const GemmProduct& key, const std::array<GemmKernel, kGemmKernelCount>& cands, int count, Op op_a,
                Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
                Index ldb, Scalar beta, Scalar* c, Index ldc) {
  Table& t = table();
  GemmTimer timer;
  {
    std::lock_guard<std::mutex> lock(t.mutex);
    timer = t.timer;
  }
  std::array<double, kGemmKernelCount> seconds;
  seconds.fill(std::numeric_limits<double>::quiet_NaN());
  if (timer) {
    for (int i = 0; i < count; ++i) seconds[int(cands[i])] = timer(key, cands[i]);
  } else {
    std::array<double, kGemmKernelCount> times;
    time_alternatives<Scalar>(
        count,
        [&](int i) {
          split_gemm<Scalar>(sequential_kernel<Scalar>(cands[i]), op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta,
                             c, ldc);
        },
        c, m, n, ldc, times.data());
    for (int i = 0; i < count; ++i) seconds[int(cands[i])] = times[i];
  }
  const GemmKernel chosen = fastest_gemm_kernel(seconds);
  std::lock_guard<std::mutex> lock(t.mutex);
  if (const GemmPlanEntry* other = find(t, key)) return other->kernel;  // another thread was first
  if (!put(t, {key, chosen, seconds, false})) t.unplanned.fetch_add(1, std::memory_order_relaxed);
  return chosen;
}

// The kernel for one product; plans it on its first call.
template <typename Scalar>
SequentialGemm<Scalar> choose(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                              const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  Settings& s = settings();
  const Mode mode = Mode(s.mode.load(std::memory_order_relaxed));
  if (mode == kPinned) {
    const SequentialGemm<Scalar> pinned = sequential_kernel<Scalar>(GemmKernel(s.pinned.load()));
    return pinned ? pinned : eigen_sequential<Scalar>;  // oneDNN pinned, double product
  }
  std::array<GemmKernel, kGemmKernelCount> cands;
  const int count = candidates<Scalar>(mode, cands);
  if (count == 1 || k == 0) return sequential_kernel<Scalar>(cands[0]);
  const GemmProduct key = gemm_product_key<Scalar>(op_a, op_b, m, n, k);
  Table& t = table();
  if (const GemmPlanEntry* entry = find(t, key)) return sequential_kernel<Scalar>(entry->kernel);
  if (t.size.load(std::memory_order_acquire) == Table::kCapacity) {
    t.unplanned.fetch_add(1, std::memory_order_relaxed);
    return eigen_sequential<Scalar>;
  }
  return sequential_kernel<Scalar>(
      plan<Scalar>(key, cands, count, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

// ---- Precision: float32, or bf16 products (precision.hpp) -------------------------------------------

std::atomic<int>& precision_slot() {
  static std::atomic<int> precision{int(GemmPrecision::Float32)};
  return precision;
}

// ---- Plugged-in backends ----------------------------------------------------------------------------

std::shared_ptr<GemmBackend>& backend_slot() {
  static std::shared_ptr<GemmBackend> backend;
  return backend;
}

void call_backend(GemmBackend& be, Op oa, Op ob, Index m, Index n, Index k, float alpha, const float* a,
                  Index lda, const float* b, Index ldb, float beta, float* c, Index ldc) {
  be.sgemm(oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void call_backend(GemmBackend& be, Op oa, Op ob, Index m, Index n, Index k, double alpha, const double* a,
                  Index lda, const double* b, Index ldb, double beta, double* c, Index ldc) {
  be.dgemm(oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#ifdef EIGENNET_HAVE_OPENBLAS
class OpenBlasBackend final : public GemmBackend {
 public:
  const char* name() const override { return "openblas"; }
  void sgemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
             Index ldb, float beta, float* c, Index ldc) override {
    split_gemm<float>(openblas_sequential, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void dgemm(Op op_a, Op op_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
             const double* b, Index ldb, double beta, double* c, Index ldc) override {
    split_gemm<double>(openblas_sequential, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};
#endif

}  // namespace

template <typename Scalar>
void builtin_gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda,
                  const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  if (m == 0 || n == 0) return;
#ifdef EIGENNET_HAVE_ONEDNN
  if constexpr (std::is_same<Scalar, float>::value)
    if (precision_slot().load(std::memory_order_relaxed) == int(GemmPrecision::Bf16))
      return onednn_bf16_gemm(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
  const SequentialGemm<Scalar> kernel = choose<Scalar>(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  split_gemm<Scalar>(kernel, op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename Scalar>
void gemm(Op op_a, Op op_b, Scalar alpha, ConstMatrixRef<Scalar> a, ConstMatrixRef<Scalar> b, Scalar beta,
          MatrixRef<Scalar> c) {
  const Index m = op_a == Op::None ? a.rows() : a.cols();
  const Index k = op_a == Op::None ? a.cols() : a.rows();
  const Index kb = op_b == Op::None ? b.rows() : b.cols();
  const Index n = op_b == Op::None ? b.cols() : b.rows();
  if (k != kb || c.rows() != m || c.cols() != n)
    throw std::invalid_argument("gemm: op(A) is " + shape_string(m, k) + ", op(B) is " + shape_string(kb, n) +
                                ", C is " + shape_of(c) + " (expected " + shape_string(m, n) + ")");
  const Index lda = a.outerStride(), ldb = b.outerStride(), ldc = c.outerStride();
  if (auto& backend = backend_slot())
    call_backend(*backend, op_a, op_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  else
    builtin_gemm<Scalar>(op_a, op_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
}

template void builtin_gemm<float>(Op, Op, Index, Index, Index, float, const float*, Index, const float*, Index, float,
                                  float*, Index);
template void builtin_gemm<double>(Op, Op, Index, Index, Index, double, const double*, Index, const double*, Index,
                                   double, double*, Index);
template void gemm<float>(Op, Op, float, ConstMatrixRef<float>, ConstMatrixRef<float>, float, MatrixRef<float>);
template void gemm<double>(Op, Op, double, ConstMatrixRef<double>, ConstMatrixRef<double>, double,
                           MatrixRef<double>);

void set_gemm_backend(std::shared_ptr<GemmBackend> backend) { backend_slot() = std::move(backend); }

std::shared_ptr<GemmBackend> openblas_gemm_backend() {
#ifdef EIGENNET_HAVE_OPENBLAS
  return std::make_shared<OpenBlasBackend>();
#else
  return nullptr;
#endif
}

const char* gemm_backend_name() {
  if (backend_slot()) return backend_slot()->name();
  if (gemm_precision() == GemmPrecision::Bf16) return "onednn-bf16";
  Settings& s = settings();
  const Mode mode = Mode(s.mode.load());
  if (mode == kPinned) return gemm_kernel_name(GemmKernel(s.pinned.load()));
  std::array<GemmKernel, kGemmKernelCount> cands;
  if (candidates<float>(mode, cands) == 1) return gemm_kernel_name(cands[0]);
  return mode == kAll ? "all" : "auto";
}

// ---- Precision ---------------------------------------------------------------------------------------

const char* gemm_precision_name(GemmPrecision precision) {
  return precision == GemmPrecision::Bf16 ? "bf16" : "float32";
}

GemmPrecision parse_gemm_precision(const std::string& name) {
  if (name == "float32" || name == "fp32") return GemmPrecision::Float32;
  if (name == "bf16" || name == "bfloat16") return GemmPrecision::Bf16;
  throw std::invalid_argument("unknown precision '" + name + "' (choices: float32, bf16)");
}

std::string bf16_unavailable_reason() {
#ifdef EIGENNET_HAVE_ONEDNN
  return onednn_bf16_unavailable_reason();
#else
  return "this build of eigennet has no oneDNN (install libdnnl-dev and configure again)";
#endif
}

void set_gemm_precision(GemmPrecision precision) {
  if (precision == GemmPrecision::Bf16) {
    const std::string why = bf16_unavailable_reason();
    if (!why.empty()) throw std::runtime_error("bf16 products are not available: " + why);
  }
  precision_slot().store(int(precision));
}

GemmPrecision gemm_precision() { return GemmPrecision(precision_slot().load()); }

// ---- Choosing ---------------------------------------------------------------------------------------

bool GemmProduct::operator==(const GemmProduct& o) const {
  return scalar == o.scalar && op_a == o.op_a && op_b == o.op_b && m == o.m && n == o.n && k == o.k &&
         threads == o.threads;
}

GemmKernel fastest_gemm_kernel(const std::array<double, kGemmKernelCount>& seconds) {
  int best = -1;
  for (int i = 0; i < kGemmKernelCount; ++i)
    if (!std::isnan(seconds[i]) && (best < 0 || seconds[i] < seconds[best])) best = i;
  if (best < 0) throw std::invalid_argument("fastest_gemm_kernel: no kernel has a time (all NaN)");
  return GemmKernel(best);
}

void set_gemm_choice(const std::string& choice) {
  const auto [mode, kernel] = parse_choice(choice, "GEMM choice '" + choice + "'");
  Settings& s = settings();
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  s.pinned = int(kernel);
  s.mode = mode;
  if (mode != kPinned && mode != s.measured_under) {
    // Other candidates: the measured choices no longer hold (loaded ones stay, as chosen).
    s.measured_under = mode;
    int kept = 0;
    const int n = t.size.load();
    for (int i = 0; i < n; ++i)
      if (t.entries[i].loaded) t.entries[kept++] = t.entries[i];
    t.size.store(kept);
  }
}

std::string gemm_choice() {
  Settings& s = settings();
  const Mode mode = Mode(s.mode.load());
  if (mode == kPinned) return gemm_kernel_name(GemmKernel(s.pinned.load()));
  return mode == kAll ? "all" : "auto";
}

void pin_gemm_kernel(GemmKernel kernel) { set_gemm_choice(gemm_kernel_name(kernel)); }

std::optional<GemmKernel> pinned_gemm_kernel() {
  Settings& s = settings();
  if (s.mode.load() != kPinned) return std::nullopt;
  return GemmKernel(s.pinned.load());
}

void set_gemm_timer(GemmTimer timer) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.timer = std::move(timer);
}

// ---- The plan as a list, a table and a file ------------------------------------------------------------

std::vector<GemmPlanEntry> gemm_plan() {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  return std::vector<GemmPlanEntry>(t.entries.get(), t.entries.get() + t.size.load());
}

void clear_gemm_plan() {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.size.store(0);
  t.unplanned.store(0);
}

namespace {

const char* scalar_name(GemmScalar s) { return s == GemmScalar::Float ? "float" : "double"; }
char op_char(Op op) { return op == Op::None ? 'N' : 'T'; }

}  // namespace

void print_gemm_plan(std::ostream& out) {
  const std::vector<GemmPlanEntry> plan = gemm_plan();
  const std::vector<GemmKernel> built = gemm_kernels_built();
  out << "GEMM kernels built: " << kernel_list(built) << "; choice: " << gemm_choice();
  if (auto be = backend_slot())
    out << " (not in use: backend " << be->name() << " plugged in)";
  else if (!pinned_gemm_kernel()) {
    std::array<GemmKernel, kGemmKernelCount> cands;
    const int count = candidates<float>(Mode(settings().mode.load()), cands);
    out << " (measuring " << kernel_list(std::vector<GemmKernel>(cands.begin(), cands.begin() + count)) << ")";
    if (gemm_choice() == "auto") {
      std::vector<GemmKernel> allocating;
      for (GemmKernel k : built)
        if (gemm_kernel_allocates(k)) allocating.push_back(k);
      if (!allocating.empty())
        out << "; " << kernel_list(allocating) << " can allocate per call: EIGENNET_GEMM=all measures "
            << (allocating.size() == 1 ? "it" : "them") << " too";
    }
  }
  out << "\n";
  if (const long unplanned = table().unplanned.load())
    out << unplanned << " products found the plan full and ran on eigen\n";
  if (plan.empty()) {
    out << "(no products planned)\n";
    return;
  }
  out << std::left << std::setw(7) << "scalar" << std::setw(4) << "op" << std::right << std::setw(7) << "m"
      << std::setw(7) << "n" << std::setw(7) << "k" << std::setw(8) << "threads";
  for (int i = 0; i < kGemmKernelCount; ++i)
    out << std::setw(13) << (std::string(gemm_kernel_name(GemmKernel(i))) + " us");
  out << "  " << std::left << std::setw(9) << "chosen" << std::right << std::setw(9) << "GFLOP/s" << "\n";
  for (const GemmPlanEntry& e : plan) {
    const GemmProduct& p = e.product;
    out << std::left << std::setw(7) << scalar_name(p.scalar) << op_char(p.op_a) << op_char(p.op_b) << "  "
        << std::right << std::setw(7) << p.m << std::setw(7) << p.n << std::setw(7) << p.k << std::setw(8)
        << p.threads << std::fixed << std::setprecision(1);
    for (double s : e.seconds)
      if (std::isnan(s))
        out << std::setw(13) << "-";
      else
        out << std::setw(13) << s * 1e6;
    const double best = e.seconds[int(e.kernel)];
    out << "  " << std::left << std::setw(9) << (std::string(gemm_kernel_name(e.kernel)) + (e.loaded ? "*" : ""))
        << std::right << std::setw(9);
    if (std::isnan(best) || best <= 0)
      out << "-";
    else
      out << 2.0 * double(p.m) * double(p.n) * double(p.k) / best * 1e-9;
    out << "\n" << std::defaultfloat;
  }
  if (std::any_of(plan.begin(), plan.end(), [](const GemmPlanEntry& e) { return e.loaded; }))
    out << "* loaded from a saved plan\n";
}

void write_gemm_plan(std::ostream& out) {
  out << "# eigennet GEMM plan 1: scalar op_a op_b m n k threads kernel, then seconds for eigen openblas onednn simd\n";
  for (const GemmPlanEntry& e : gemm_plan()) {
    const GemmProduct& p = e.product;
    out << scalar_name(p.scalar) << ' ' << op_char(p.op_a) << ' ' << op_char(p.op_b) << ' ' << p.m << ' ' << p.n
        << ' ' << p.k << ' ' << p.threads << ' ' << gemm_kernel_name(e.kernel) << std::setprecision(6);
    for (double s : e.seconds)
      if (std::isnan(s))
        out << " nan";
      else
        out << ' ' << s;
    out << "\n";
  }
}

void read_gemm_plan(std::istream& in, const std::string& source_name) {
  std::vector<GemmPlanEntry> read;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto fail = [&](const std::string& why) {
      throw std::runtime_error("GEMM plan " + source_name + ":" + std::to_string(number) + ": " + why + " in '" +
                               line + "'");
    };
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    if (f.empty() || f[0][0] == '#') continue;
    // Seconds, where given, are in GemmKernel order; a plan from before the simd kernel has three.
    if (f.size() != 8 && f.size() != 8 + kGemmKernelCount - 1 && f.size() != 8 + kGemmKernelCount)
      fail("expected 8, " + std::to_string(8 + kGemmKernelCount - 1) + " or " + std::to_string(8 + kGemmKernelCount) +
           " fields, got " + std::to_string(f.size()));
    GemmPlanEntry e{};
    if (f[0] != "float" && f[0] != "double") fail("scalar '" + f[0] + "' is neither float nor double");
    e.product.scalar = f[0] == "float" ? GemmScalar::Float : GemmScalar::Double;
    for (int i : {1, 2})
      if (f[i] != "N" && f[i] != "T") fail("op '" + f[i] + "' is neither N nor T");
    e.product.op_a = f[1] == "N" ? Op::None : Op::Transpose;
    e.product.op_b = f[2] == "N" ? Op::None : Op::Transpose;
    const auto integer = [&](const std::string& s, long long least) {
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno != 0 || v < least || v > std::numeric_limits<int>::max())
        fail("'" + s + "' is not a whole number from " + std::to_string(least));
      return v;
    };
    e.product.m = integer(f[3], 0);
    e.product.n = integer(f[4], 0);
    e.product.k = integer(f[5], 0);
    e.product.threads = int(integer(f[6], 1));
    try {
      e.kernel = parse_gemm_kernel(f[7]);
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }
    if (!gemm_kernel_available(e.kernel, e.product.scalar))
      fail(std::string("this build has no ") + f[7] + " kernel for " + f[0] + " (built in: " +
           kernel_list(gemm_kernels_built()) + ")");
    e.seconds.fill(std::numeric_limits<double>::quiet_NaN());
    for (std::size_t i = 8; i < f.size(); ++i) {
      char* end = nullptr;
      const double v = std::strtod(f[i].c_str(), &end);
      if (*end != '\0' || !(std::isnan(v) || v >= 0)) fail("'" + f[i] + "' is not a time in seconds");
      e.seconds[i - 8] = v;
    }
    e.loaded = true;
    read.push_back(e);
  }
  if (in.bad()) throw std::runtime_error("GEMM plan " + source_name + ": read error");
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  for (const GemmPlanEntry& e : read)
    if (!put(t, e)) throw std::runtime_error("GEMM plan " + source_name + ": more than 4096 products");
}

void save_gemm_plan(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("save_gemm_plan: cannot write " + path);
  write_gemm_plan(out);
  out.flush();
  if (!out) throw std::runtime_error("save_gemm_plan: writing " + path + " failed");
}

void load_gemm_plan(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("load_gemm_plan: cannot read " + path);
  read_gemm_plan(in, path);
}

}  // namespace eigennet

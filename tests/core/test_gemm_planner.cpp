// The GEMM planner (gemm/plan.hpp):
// - each kernel of this build, pinned, against a double-precision reference product, and routed
//   to that library: on one thread a pinned product equals a direct call of the library bit for bit;
// - the choice, with timings injected (set_gemm_timer): the fastest candidate is chosen and its
//   result is the one computed; a product is planned once per (scalar, ops, m, n, k, threads);
//   OpenBLAS and oneDNN (which may allocate per call) are candidates under "all" only, oneDNN never
//   for double;
//   where a choice leaves one candidate for a scalar type, nothing is measured and the plan stays
//   empty (expectations from eigennet_test::gemm_candidates, so that every build is held to them);
// - measured for real: every candidate gets a time, the choice is the fastest of them, and the
//   trials leave C as it was (a product with beta = 1 is not accumulated once per trial);
// - the plan printed, written and read back; malformed plan files and unknown EIGENNET_GEMM values
//   are refused with the value named.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "gemm/backend.hpp"
#include "support/gemm_settings.hpp"
#include "support/process.hpp"

#ifdef EIGENNET_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef EIGENNET_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

using namespace eigennet;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool built(GemmKernel kernel) { return gemm_kernel_available(kernel, GemmScalar::Float); }

using eigennet_test::choice_that_measures;
using eigennet_test::gemm_candidates;
using eigennet_test::measured_gemm_name;

// Restores the GEMM choice, the clock, the plan and the thread count.
struct CleanPlanner {
  eigennet_test::RestoreGemmSetting gemm;
  ThreadCountScope threads{thread_count()};
  CleanPlanner() {
    set_gemm_backend(nullptr);
    set_gemm_choice("auto");
    clear_gemm_plan();
  }
  ~CleanPlanner() {
    set_gemm_timer(nullptr);
    clear_gemm_plan();
  }
};

template <typename Scalar>
struct Operands {
  Matrix<Scalar> a, b, c0;  // op(A) = a or aᵀ as stored
  Matrix<double> reference;  // alpha·op(A)·op(B) + beta·C0 in double
};

template <typename Scalar>
Operands<Scalar> operands(RandomState& rng, Op op_a, Op op_b, Index m, Index n, Index k, double alpha, double beta) {
  Operands<Scalar> o;
  o.a.resize(op_a == Op::None ? m : k, op_a == Op::None ? k : m);
  o.b.resize(op_b == Op::None ? k : n, op_b == Op::None ? n : k);
  o.c0.resize(m, n);
  rng.fill_normal(o.a, 0, 1);
  rng.fill_normal(o.b, 0, 1);
  rng.fill_normal(o.c0, 0, 1);
  const Matrix<double> ad = o.a.template cast<double>(), bd = o.b.template cast<double>();
  const Matrix<double> opa = op_a == Op::None ? ad : Matrix<double>(ad.transpose());
  const Matrix<double> opb = op_b == Op::None ? bd : Matrix<double>(bd.transpose());
  o.reference = alpha * opa * opb + beta * o.c0.template cast<double>();
  return o;
}

template <typename Scalar>
double relative_error(const Matrix<Scalar>& c, const Matrix<double>& reference) {
  return (c.template cast<double>() - reference).norm() / reference.norm();
}

template <typename Scalar>
Matrix<Scalar> product(const Operands<Scalar>& o, Op op_a, Op op_b, Scalar alpha, Scalar beta) {
  Matrix<Scalar> c = o.c0;
  gemm<Scalar>(op_a, op_b, alpha, o.a, o.b, beta, c);
  return c;
}

// The library's own product on one thread, called directly (nullopt where not built / no such type).
template <typename Scalar>
bool direct_product(GemmKernel kernel, const Operands<Scalar>& o, Op op_a, Op op_b, Scalar alpha, Scalar beta,
                    Matrix<Scalar>& c) {
  c = o.c0;
  const Index m = c.rows(), n = c.cols(), k = op_a == Op::None ? o.a.cols() : o.a.rows();
  (void)m, (void)n, (void)k, (void)alpha, (void)beta, (void)op_a, (void)op_b;
#ifdef EIGENNET_HAVE_OPENBLAS
  if (kernel == GemmKernel::OpenBlas) {
    const auto t = [](Op op) { return op == Op::None ? CblasNoTrans : CblasTrans; };
    if constexpr (std::is_same<Scalar, float>::value)
      cblas_sgemm(CblasRowMajor, t(op_a), t(op_b), int(m), int(n), int(k), alpha, o.a.data(), int(o.a.cols()),
                  o.b.data(), int(o.b.cols()), beta, c.data(), int(n));
    else
      cblas_dgemm(CblasRowMajor, t(op_a), t(op_b), int(m), int(n), int(k), alpha, o.a.data(), int(o.a.cols()),
                  o.b.data(), int(o.b.cols()), beta, c.data(), int(n));
    return true;
  }
#endif
#ifdef EIGENNET_HAVE_ONEDNN
  if constexpr (std::is_same<Scalar, float>::value)
    if (kernel == GemmKernel::OneDnn) {
#ifdef _OPENMP
      const int saved = omp_get_max_threads();
      omp_set_num_threads(1);  // as eigennet runs it: one thread (oneDNN splits k otherwise, other bits)
#endif
      const dnnl_status_t status = dnnl_sgemm(op_a == Op::None ? 'N' : 'T', op_b == Op::None ? 'N' : 'T', m, n, k,
                                              alpha, o.a.data(), o.a.cols(), o.b.data(), o.b.cols(), beta, c.data(), n);
#ifdef _OPENMP
      omp_set_num_threads(saved);
#endif
      REQUIRE(status == dnnl_success);
      return true;
    }
#endif
  (void)kernel;
  return false;
}

bool bitwise_equal(const Matrix<float>& x, const Matrix<float>& y) { return x.cwiseEqual(y).all(); }
bool bitwise_equal(const Matrix<double>& x, const Matrix<double>& y) { return x.cwiseEqual(y).all(); }

// An injected timer: `times[kernel]` for products with m == `m`, and counts the questions.
struct FakeTimer {
  std::map<GemmKernel, double> times;
  std::vector<GemmKernel> asked;
  GemmTimer function() {
    return [this](const GemmProduct&, GemmKernel kernel) {
      asked.push_back(kernel);
      const auto it = times.find(kernel);
      return it == times.end() ? 1.0 : it->second;
    };
  }
};

}  // namespace

TEST_CASE("gemm_kernel names, availability and the kernels built") {
  for (int i = 0; i < kGemmKernelCount; ++i) CHECK(parse_gemm_kernel(gemm_kernel_name(GemmKernel(i))) == GemmKernel(i));
  CHECK_THROWS_WITH_AS(parse_gemm_kernel("mkl"), doctest::Contains("'mkl'"), std::invalid_argument);
  const std::vector<GemmKernel> kernels = gemm_kernels_built();
  REQUIRE(!kernels.empty());
  CHECK(kernels[0] == GemmKernel::Eigen);
  CHECK(gemm_kernel_available(GemmKernel::Eigen, GemmScalar::Double));
  CHECK_FALSE(gemm_kernel_available(GemmKernel::OneDnn, GemmScalar::Double));  // oneDNN 2.6: no dgemm
#ifdef EIGENNET_HAVE_OPENBLAS
  CHECK(built(GemmKernel::OpenBlas));
#else
  CHECK_FALSE(built(GemmKernel::OpenBlas));
#endif
#ifdef EIGENNET_HAVE_ONEDNN
  CHECK(built(GemmKernel::OneDnn));
#else
  CHECK_FALSE(built(GemmKernel::OneDnn));
#endif
  CHECK(gemm_kernel_allocates(GemmKernel::OneDnn));
  CHECK(gemm_kernel_allocates(GemmKernel::OpenBlas));  // on some products, some CPUs (openblas_backend.cpp)
  CHECK_FALSE(gemm_kernel_allocates(GemmKernel::Eigen));
  CHECK_FALSE(gemm_kernel_allocates(GemmKernel::Simd));
  MESSAGE("GEMM kernels built: " << gemm_kernels_built().size());
}

TEST_CASE_TEMPLATE("each kernel pinned matches a double reference, and is the library's own product", Scalar, float,
                   double) {
  CleanPlanner clean;
  const double tol = std::is_same<Scalar, float>::value ? 1e-5 : 1e-13;
  RandomState rng(5);
  for (GemmKernel kernel : gemm_kernels_built()) {
    pin_gemm_kernel(kernel);
    const std::string kernel_name = gemm_kernel_name(kernel);
    CAPTURE(kernel_name);
    REQUIRE(pinned_gemm_kernel() == kernel);
    CHECK(std::string(gemm_backend_name()) == gemm_kernel_name(kernel));
    int differs_from_eigen = 0, direct = 0;
    for (auto dims : {std::array<Index, 3>{40, 1000, 78}, std::array<Index, 3>{78, 100, 40},
                      std::array<Index, 3>{1, 1, 1}, std::array<Index, 3>{7, 3, 300}})
      for (Op op_a : {Op::None, Op::Transpose})
        for (Op op_b : {Op::None, Op::Transpose})
          for (double beta : {0.0, 1.0, -0.5}) {
            const Index m = dims[0], n = dims[1], k = dims[2];
            CAPTURE(m);
            CAPTURE(int(op_a));
            CAPTURE(int(op_b));
            CAPTURE(beta);
            const Operands<Scalar> o = operands<Scalar>(rng, op_a, op_b, m, n, k, 1.5, beta);
            for (int threads : {1, 2}) {
              set_thread_count(threads);
              const Matrix<Scalar> c = product(o, op_a, op_b, Scalar(1.5), Scalar(beta));
              CHECK(relative_error(c, o.reference) <= tol);
            }
            // One thread: the same bits as the library called directly.
            set_thread_count(1);
            const Matrix<Scalar> c = product(o, op_a, op_b, Scalar(1.5), Scalar(beta));
            Matrix<Scalar> library;
            if (direct_product(kernel, o, op_a, op_b, Scalar(1.5), Scalar(beta), library)) {
              ++direct;
              CHECK(bitwise_equal(c, library));
              pin_gemm_kernel(GemmKernel::Eigen);
              if (!bitwise_equal(product(o, op_a, op_b, Scalar(1.5), Scalar(beta)), library)) ++differs_from_eigen;
              pin_gemm_kernel(kernel);
            }
          }
    // The bitwise checks above tell the kernels apart only if their results differ somewhere
    // (simd is eigennet's own: no outside library to call directly).
    if (kernel != GemmKernel::Eigen && direct > 0 && gemm_kernel_available(kernel, std::is_same<Scalar, float>::value
                                                                         ? GemmScalar::Float
                                                                         : GemmScalar::Double))
      CHECK(differs_from_eigen > 0);
  }
  CHECK(gemm_plan().empty());  // pinned: nothing measured
}

TEST_CASE("oneDNN pinned runs double products on Eigen's kernel") {
  if (!built(GemmKernel::OneDnn)) return;
  CleanPlanner clean;
  RandomState rng(8);
  const Operands<double> o = operands<double>(rng, Op::None, Op::None, 30, 40, 50, 1, 0);
  pin_gemm_kernel(GemmKernel::OneDnn);
  const Matrix<double> on_onednn = product(o, Op::None, Op::None, 1.0, 0.0);
  pin_gemm_kernel(GemmKernel::Eigen);
  CHECK(bitwise_equal(on_onednn, product(o, Op::None, Op::None, 1.0, 0.0)));
}

TEST_CASE("fastest_gemm_kernel: the least time, NaN is no candidate, ties to the earlier kernel") {
  // Seconds in GemmKernel order: eigen, openblas, onednn, simd.
  CHECK(fastest_gemm_kernel({3e-4, 2e-4, 5e-4, kNaN}) == GemmKernel::OpenBlas);
  CHECK(fastest_gemm_kernel({3e-4, 2e-4, 1e-4, kNaN}) == GemmKernel::OneDnn);
  CHECK(fastest_gemm_kernel({3e-4, kNaN, 1e-4, kNaN}) == GemmKernel::OneDnn);
  CHECK(fastest_gemm_kernel({3e-4, 2e-4, 1e-4, 5e-5}) == GemmKernel::Simd);
  CHECK(fastest_gemm_kernel({3e-4, kNaN, kNaN, 2e-4}) == GemmKernel::Simd);
  CHECK(fastest_gemm_kernel({1e-4, kNaN, kNaN, kNaN}) == GemmKernel::Eigen);
  CHECK(fastest_gemm_kernel({kNaN, 2e-4, kNaN, kNaN}) == GemmKernel::OpenBlas);
  CHECK(fastest_gemm_kernel({2e-4, 2e-4, 2e-4, 2e-4}) == GemmKernel::Eigen);
  CHECK(fastest_gemm_kernel({3e-4, 2e-4, 2e-4, 2e-4}) == GemmKernel::OpenBlas);
  CHECK_THROWS_AS(fastest_gemm_kernel({kNaN, kNaN, kNaN, kNaN}), std::invalid_argument);
}

TEST_CASE_TEMPLATE("the planner chooses the fastest candidate once per product, with injected timings", Scalar, float,
                   double) {
  CleanPlanner clean;
  set_thread_count(1);
  const GemmScalar scalar = std::is_same<Scalar, float>::value ? GemmScalar::Float : GemmScalar::Double;
  FakeTimer timer;
  set_gemm_timer(timer.function());
  RandomState rng(11);
  const Operands<Scalar> o = operands<Scalar>(rng, Op::None, Op::Transpose, 37, 50, 60, 1, 1);

  const std::vector<GemmKernel> candidates = gemm_candidates("auto", scalar);
  REQUIRE(!candidates.empty());
  CHECK(candidates[0] == GemmKernel::Eigen);
  CHECK(std::find(candidates.begin(), candidates.end(), GemmKernel::OneDnn) == candidates.end());
  CHECK(std::string(gemm_backend_name()) == measured_gemm_name("auto"));

  for (GemmKernel fastest : candidates) {
    const std::string fastest_name = gemm_kernel_name(fastest);
    CAPTURE(fastest_name);
    clear_gemm_plan();
    timer.asked.clear();
    timer.times = {{GemmKernel::Eigen, 3e-3}, {GemmKernel::OpenBlas, 2e-3}, {GemmKernel::OneDnn, 1e-4},
                   {GemmKernel::Simd, 4e-3}};
    timer.times[fastest] = 1e-3;  // fastest of the candidates (oneDNN is faster still, but not one of them)
    const Matrix<Scalar> c = product(o, Op::None, Op::Transpose, Scalar(1), Scalar(1));
    CHECK(relative_error(c, o.reference) <= (std::is_same<Scalar, float>::value ? 1e-5 : 1e-13));
    if (candidates.size() == 1) {  // Eigen alone (no OpenBLAS): nothing to choose, nothing measured
      CHECK(timer.asked.empty());
      CHECK(gemm_plan().empty());
      continue;
    }
    CHECK(timer.asked == candidates);  // each candidate once; oneDNN not under "auto"
    const std::vector<GemmPlanEntry> plan = gemm_plan();
    REQUIRE(plan.size() == 1);
    const GemmPlanEntry& e = plan[0];
    CHECK(e.kernel == fastest);
    CHECK(e.product.scalar == scalar);
    CHECK(e.product.op_a == Op::None);
    CHECK(e.product.op_b == Op::Transpose);
    CHECK(e.product.m == 37);
    CHECK(e.product.n == 50);
    CHECK(e.product.k == 60);
    CHECK(e.product.threads == 1);
    CHECK_FALSE(e.loaded);
    for (GemmKernel k : candidates) CHECK(e.seconds[int(k)] == timer.times[k]);
    CHECK(std::isnan(e.seconds[int(GemmKernel::OneDnn)]));
    // The chosen kernel computed it: the same bits as that kernel pinned.
    pin_gemm_kernel(fastest);
    CHECK(bitwise_equal(c, product(o, Op::None, Op::Transpose, Scalar(1), Scalar(1))));
    set_gemm_choice("auto");  // from pinned back to auto: same candidates, the plan stays
    REQUIRE(gemm_plan().size() == 1);
    // Planned: the second call asks nothing.
    timer.asked.clear();
    product(o, Op::None, Op::Transpose, Scalar(1), Scalar(1));
    CHECK(timer.asked.empty());
    // Another transposition, scalar or thread count is another product.
    Matrix<Scalar> c2(37, 50);
    gemm<Scalar>(Op::None, Op::None, 1, o.a, Matrix<Scalar>(o.b.transpose()), 0, c2);
    CHECK(gemm_plan().size() == 2);
    CHECK(timer.asked == candidates);
  }

  // "all": oneDNN becomes a candidate for float products (never for double ones).
  if (built(GemmKernel::OneDnn)) {
    const std::vector<GemmKernel> all = gemm_candidates("all", scalar);
    const bool onednn_candidate = std::find(all.begin(), all.end(), GemmKernel::OneDnn) != all.end();
    CHECK(onednn_candidate == (scalar == GemmScalar::Float));
    set_gemm_choice("all");
    CHECK(std::string(gemm_backend_name()) == "all");  // float products: Eigen and oneDNN at least
    CHECK(gemm_plan().empty());  // other candidates: the measured entries are dropped
    timer.asked.clear();
    timer.times = {{GemmKernel::Eigen, 3e-3}, {GemmKernel::OpenBlas, 2e-3}, {GemmKernel::OneDnn, 1e-4},
                   {GemmKernel::Simd, 4e-3}};
    const Matrix<Scalar> c = product(o, Op::None, Op::Transpose, Scalar(1), Scalar(1));
    CHECK(relative_error(c, o.reference) <= (std::is_same<Scalar, float>::value ? 1e-5 : 1e-13));
    if (all.size() == 1) {  // double products without OpenBLAS: Eigen's kernel, unmeasured
      CHECK(timer.asked.empty());
      CHECK(gemm_plan().empty());
    } else {
      CHECK(timer.asked == all);
      REQUIRE(gemm_plan().size() == 1);
      // The fastest of "all"'s candidates by the injected times: oneDNN for float; for double
      // OpenBLAS where built, else Eigen (ahead of simd).
      GemmKernel expected = all[0];
      for (GemmKernel k : all)
        if (timer.times[k] < timer.times[expected]) expected = k;
      CHECK(expected == (scalar == GemmScalar::Float ? GemmKernel::OneDnn
                         : built(GemmKernel::OpenBlas) ? GemmKernel::OpenBlas : GemmKernel::Eigen));
      CHECK(gemm_plan()[0].kernel == expected);
      pin_gemm_kernel(expected);
      CHECK(bitwise_equal(c, product(o, Op::None, Op::Transpose, Scalar(1), Scalar(1))));
    }
  }
}

TEST_CASE("the thread count a product is split over is part of the plan's key") {
  CleanPlanner clean;
  const std::string choice = choice_that_measures(GemmScalar::Float);
  CAPTURE(choice);
  if (!choice.empty()) set_gemm_choice(choice);
  FakeTimer timer;
  set_gemm_timer(timer.function());
  RandomState rng(3);
  // 200·200·200 multiply-adds: split over two threads when two are allowed.
  const Operands<float> o = operands<float>(rng, Op::None, Op::None, 200, 200, 200, 1, 0);
  set_thread_count(1);
  product(o, Op::None, Op::None, 1.0f, 0.0f);
  set_thread_count(2);
  product(o, Op::None, Op::None, 1.0f, 0.0f);
  const std::vector<GemmPlanEntry> plan = gemm_plan();
  if (choice.empty()) {  // Eigen's kernel alone: nothing is planned
    CHECK(plan.empty());
    CHECK(timer.asked.empty());
    return;
  }
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].product.threads == 1);
  CHECK(plan[1].product.threads == 2);
}

TEST_CASE_TEMPLATE("measured for real: a time for every candidate, the fastest chosen, C restored between trials",
                   Scalar, float, double) {
  CleanPlanner clean;
  const GemmScalar scalar = std::is_same<Scalar, float>::value ? GemmScalar::Float : GemmScalar::Double;
  for (const char* choice : {"auto", "all"}) {
    const std::vector<GemmKernel> candidates = gemm_candidates(choice, scalar);
    set_gemm_choice(choice);
    clear_gemm_plan();
    CAPTURE(choice);
    for (int threads : {1, 2}) {
      set_thread_count(threads);
      RandomState rng(threads);
      // beta = 1: each trial would add alpha·AB once more if C were not restored.
      const Operands<Scalar> o = operands<Scalar>(rng, Op::Transpose, Op::None, 120, 300, 90, 2, 1);
      const Matrix<Scalar> c = product(o, Op::Transpose, Op::None, Scalar(2), Scalar(1));
      CHECK(relative_error(c, o.reference) <= (std::is_same<Scalar, float>::value ? 1e-5 : 1e-13));
    }
    const std::vector<GemmPlanEntry> plan = gemm_plan();
    if (candidates.size() == 1) {  // one candidate: it runs, nothing is measured
      CHECK(plan.empty());
      continue;
    }
    REQUIRE(plan.size() == 2);
    for (const GemmPlanEntry& e : plan) {
      for (GemmKernel k : gemm_kernels_built()) {
        const bool candidate = std::find(candidates.begin(), candidates.end(), k) != candidates.end();
        const std::string kernel_name = gemm_kernel_name(k);
        CAPTURE(kernel_name);
        if (candidate)
          CHECK((std::isfinite(e.seconds[int(k)]) && e.seconds[int(k)] > 0));
        else
          CHECK(std::isnan(e.seconds[int(k)]));
      }
      CHECK(e.kernel == fastest_gemm_kernel(e.seconds));
    }
  }
}

// The timing rule shared by the planner and the cuBLAS host-pointer backend (gemm/backend.hpp).
TEST_CASE("time_alternatives: every way timed from the caller's C, C restored at the end and when a way throws") {
  RandomState rng(7);
  Matrix<double> big(6, 9);
  rng.fill_normal(big, 0, 1);
  const Matrix<double> before = big;
  auto c = big.block(1, 2, 4, 5);  // a strided block: the rows of C lie 9 apart
  const Index ldc = big.outerStride();
  std::vector<int> runs(2, 0);
  double seconds[2];
  const auto scribble = [&](int way) {
    CHECK(Matrix<double>(c) == before.block(1, 2, 4, 5));  // every run starts from the caller's C
    ++runs[std::size_t(way)];
    c.setConstant(way + 1.0);
  };
  time_alternatives<double>(2, scribble, c.data(), 4, 5, ldc, seconds);
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] >= 4);  // one untimed run, then at least three rounds
  CHECK(runs[0] <= 21);
  CHECK((std::isfinite(seconds[0]) && seconds[0] >= 0 && std::isfinite(seconds[1]) && seconds[1] >= 0));
  CHECK(big == before);
  const auto throws_on_second = [&](int way) {
    c.setConstant(42.0);
    if (way == 1) throw std::runtime_error("way 1 failed");
  };
  CHECK_THROWS_WITH_AS(time_alternatives<double>(2, throws_on_second, c.data(), 4, 5, ldc, seconds), "way 1 failed",
                       std::runtime_error);
  CHECK(big == before);
}

TEST_CASE("the plan printed, written and read back; a loaded plan is used as saved") {
  CleanPlanner clean;
  set_thread_count(1);
  FakeTimer timer;
  set_gemm_timer(timer.function());
  timer.times = {{GemmKernel::Eigen, 1e-3}, {GemmKernel::OpenBlas, 2e-3}, {GemmKernel::OneDnn, 2e-3},
                 {GemmKernel::Simd, 2e-3}};
  RandomState rng(4);
  const Operands<float> of = operands<float>(rng, Op::None, Op::None, 40, 100, 78, 1, 0);
  const Operands<double> od = operands<double>(rng, Op::Transpose, Op::None, 78, 100, 40, 1, 0);
  // "auto", or "all" where oneDNN is Eigen's only companion (then double products are not measured).
  const std::string choice = choice_that_measures(GemmScalar::Float);
  CAPTURE(choice);
  if (choice.empty()) {  // Eigen's kernel alone: nothing is planned, and the table says so
    product(of, Op::None, Op::None, 1.0f, 0.0f);
    product(od, Op::Transpose, Op::None, 1.0, 0.0);
    CHECK(gemm_plan().empty());
    CHECK(timer.asked.empty());
    std::ostringstream printed;
    print_gemm_plan(printed);
    CHECK(printed.str().find("(no products planned)") != std::string::npos);
    return;
  }
  set_gemm_choice(choice);
  const std::vector<GemmKernel> float_candidates = gemm_candidates(choice, GemmScalar::Float);
  const bool double_planned = gemm_candidates(choice, GemmScalar::Double).size() > 1;
  product(of, Op::None, Op::None, 1.0f, 0.0f);
  product(od, Op::Transpose, Op::None, 1.0, 0.0);
  const std::vector<GemmPlanEntry> before = gemm_plan();
  REQUIRE(before.size() == (double_planned ? 2u : 1u));
  CHECK(before[0].kernel == GemmKernel::Eigen);

  std::ostringstream printed;
  print_gemm_plan(printed);
  CAPTURE(printed.str());
  CHECK(printed.str().find("float  NN       40    100     78") != std::string::npos);
  CHECK((printed.str().find("double TN       78    100     40") != std::string::npos) == double_planned);
  CHECK(printed.str().find("eigen") != std::string::npos);

  std::stringstream file;
  write_gemm_plan(file);
  clear_gemm_plan();
  CHECK(gemm_plan().empty());
  read_gemm_plan(file, "memory");
  const std::vector<GemmPlanEntry> after = gemm_plan();
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].product == before[i].product);
    CHECK(after[i].kernel == before[i].kernel);
    CHECK(after[i].loaded);
    for (int k = 0; k < kGemmKernelCount; ++k)
      CHECK((std::isnan(before[i].seconds[k]) ? std::isnan(after[i].seconds[k])
                                              : std::abs(after[i].seconds[k] - before[i].seconds[k]) <=
                                                    1e-5 * before[i].seconds[k]));
  }

  // A plan that names another kernel for the float product is followed (the timer would say eigen).
  const GemmKernel other = float_candidates.at(1);
  const std::string other_name = gemm_kernel_name(other);
  std::istringstream edited("# edited\nfloat N N 40 100 78 1 " + other_name + "\n");
  read_gemm_plan(edited, "edited");
  REQUIRE(gemm_plan().size() == before.size());
  CHECK(gemm_plan()[0].kernel == other);
  timer.asked.clear();
  const Matrix<float> c = product(of, Op::None, Op::None, 1.0f, 0.0f);
  CHECK(timer.asked.empty());
  pin_gemm_kernel(other);
  CHECK(bitwise_equal(c, product(of, Op::None, Op::None, 1.0f, 0.0f)));
  pin_gemm_kernel(GemmKernel::Eigen);
  CHECK_FALSE(bitwise_equal(c, product(of, Op::None, Op::None, 1.0f, 0.0f)));  // so the check above tells them apart
  set_gemm_choice(choice);
  std::ostringstream printed_loaded;
  print_gemm_plan(printed_loaded);
  CHECK(printed_loaded.str().find(other_name + "*") != std::string::npos);
}

TEST_CASE("a plan saved before the simd kernel (three times a line) is read, simd's time unknown") {
  CleanPlanner clean;
  std::istringstream old_plan("float N N 40 100 78 1 eigen 0.001 0.002 nan\n");
  read_gemm_plan(old_plan, "old");
  const std::vector<GemmPlanEntry> plan = gemm_plan();
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].kernel == GemmKernel::Eigen);
  CHECK(plan[0].seconds[int(GemmKernel::Eigen)] == doctest::Approx(0.001));
  CHECK(plan[0].seconds[int(GemmKernel::OpenBlas)] == doctest::Approx(0.002));
  CHECK(std::isnan(plan[0].seconds[int(GemmKernel::OneDnn)]));
  CHECK(std::isnan(plan[0].seconds[int(GemmKernel::Simd)]));
}

TEST_CASE("malformed plan files are refused, naming the place and the value") {
  CleanPlanner clean;
  const auto refused = [](const std::string& text, const std::string& expected) {
    CAPTURE(text);
    std::istringstream in(text);
    CHECK_THROWS_WITH_AS(read_gemm_plan(in, "plan.txt"), doctest::Contains(expected.c_str()), std::runtime_error);
    CHECK(gemm_plan().empty());  // nothing taken from a file with an error
  };
  refused("float N N 40 100 78 1 mkl\n", "plan.txt:1: unknown GEMM kernel 'mkl'");
  refused("# header\nfloat N N 40 100 78 1 eigen\nhalf N N 1 2 3 1 eigen\n", "plan.txt:3: scalar 'half'");
  refused("float X N 40 100 78 1 eigen\n", "op 'X'");
  refused("float N N 40 -100 78 1 eigen\n", "'-100' is not a whole number");
  refused("float N N 40 100 78 0 eigen\n", "'0' is not a whole number from 1");
  refused("float N N 40 100 78\n", "expected 8, 11 or 12 fields, got 6");
  refused("float N N 40 100 78 1 eigen 1e-3 fast 2e-3\n", "'fast' is not a time");
  refused("double N N 4 5 6 1 onednn\n", "this build has no onednn kernel for double");
  if (!built(GemmKernel::OpenBlas)) refused("float N N 4 5 6 1 openblas\n", "this build has no openblas kernel");
  CHECK_THROWS_WITH_AS(load_gemm_plan("/nonexistent/plan.txt"), doctest::Contains("/nonexistent/plan.txt"),
                       std::runtime_error);
}

TEST_CASE("set_gemm_choice and EIGENNET_GEMM: the choices, and an unknown value named with them") {
  CleanPlanner clean;
  CHECK_THROWS_WITH_AS(set_gemm_choice("fastest"),
                       doctest::Contains("'fastest': unknown value (choices: auto, all, eigen, openblas, onednn, simd)"),
                       std::invalid_argument);
  CHECK(gemm_choice() == "auto");  // unchanged by the refused value
  set_gemm_choice("eigen");
  CHECK(gemm_choice() == "eigen");
  CHECK(pinned_gemm_kernel() == GemmKernel::Eigen);
  for (GemmKernel k : {GemmKernel::OpenBlas, GemmKernel::OneDnn})
    if (!built(k))
      CHECK_THROWS_WITH_AS(pin_gemm_kernel(k), doctest::Contains((std::string("no ") + gemm_kernel_name(k) + " kernel").c_str()),
                           std::invalid_argument);

  // The variable is read at the first product: run this program again with it set.
  const std::string self = "EIGENNET_GEMM_PROBE=1 /proc/" + std::to_string(::getpid()) + "/exe -tc='EIGENNET_GEMM probe'";
  const auto bad = eigennet_test::run_command("EIGENNET_GEMM=fastest " + self);
  CAPTURE(bad.output);
  CHECK(bad.status != 0);
  CHECK(bad.output.find("EIGENNET_GEMM=fastest: unknown value (choices: auto, all, eigen, openblas, onednn, simd)") !=
        std::string::npos);
  const auto unset = eigennet_test::run_command("env -u EIGENNET_GEMM " + self);
  CAPTURE(unset.output);
  CHECK(unset.status == 0);
  CHECK(unset.output.find("gemm: " + measured_gemm_name("auto") + "\n") != std::string::npos);  // the default: the planner
  for (GemmKernel k : gemm_kernels_built()) {
    const auto pinned = eigennet_test::run_command(std::string("EIGENNET_GEMM=") + gemm_kernel_name(k) + " " + self);
    CAPTURE(pinned.output);
    CHECK(pinned.status == 0);
    CHECK(pinned.output.find(std::string("gemm: ") + gemm_kernel_name(k) + "\n") != std::string::npos);
  }
  const auto measured = eigennet_test::run_command("EIGENNET_GEMM=auto " + self);
  CAPTURE(measured.output);
  CHECK(measured.status == 0);
  CHECK(measured.output.find("gemm: " + measured_gemm_name("auto") + "\n") != std::string::npos);
  const auto all = eigennet_test::run_command("EIGENNET_GEMM=all " + self);
  CAPTURE(all.output);
  CHECK(all.status == 0);
  CHECK(all.output.find("gemm: " + measured_gemm_name("all") + "\n") != std::string::npos);
  if (!built(GemmKernel::OneDnn)) {
    const auto missing = eigennet_test::run_command("EIGENNET_GEMM=onednn " + self);
    CAPTURE(missing.output);
    CHECK(missing.status != 0);
    CHECK(missing.output.find("EIGENNET_GEMM=onednn: this build of eigennet has no onednn kernel") != std::string::npos);
  }
}

// Run by the case above in a child process with EIGENNET_GEMM set; does nothing otherwise.
TEST_CASE("EIGENNET_GEMM probe") {
  if (!std::getenv("EIGENNET_GEMM_PROBE")) return;
  Matrix<float> a = Matrix<float>::Ones(3, 4), b = Matrix<float>::Ones(4, 5), c(3, 5);
  gemm<float>(Op::None, Op::None, 1, a, b, 0, c);
  std::printf("gemm: %s\n", gemm_backend_name());
  std::fflush(stdout);
  CHECK(c.isApproxToConstant(4.0f));
}

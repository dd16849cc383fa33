// eigennet's own kernel (simd, src/gemm/simd_backend.cpp), float and double, in every instruction
// set this CPU can run (AVX-512 and AVX2 on an AVX-512 CPU): against a long double reference,
// element by element within the scalar's rounding of the sums, over the shapes that take each
// path of the kernel — partial panels of rows, partial and one-vector strips of columns, depth
// blocks, B read in place or packed, op(A) read in place or packed (rows 16 KiB apart; Aᵀ over
// many pages), leading dimensions wider than the matrices, beta 0 over NaN, 1 and other, two
// threads; a negative control shows that the check catches one wrong element. Skipped (exit 77)
// where the CPU has neither set.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "gemm/backend.hpp"
#include "support/gemm_settings.hpp"
#include "support/skip.hpp"

using namespace eigennet;

namespace {

struct Case {
  Op op_a, op_b;
  Index m, n, k;
  Index pad_a = 0, pad_b = 0, pad_c = 0;  // extra columns of storage: leading dimension > row length
};

// The operands stored with their padding; op(A), op(B) and C are views of the leading columns.
template <typename Scalar>
struct Stored {
  Matrix<Scalar> a, b, c0;
};

template <typename Scalar>
Stored<Scalar> stored(const Case& t, RandomState& rng) {
  Stored<Scalar> s;
  s.a.resize(t.op_a == Op::None ? t.m : t.k, (t.op_a == Op::None ? t.k : t.m) + t.pad_a);
  s.b.resize(t.op_b == Op::None ? t.k : t.n, (t.op_b == Op::None ? t.n : t.k) + t.pad_b);
  s.c0.resize(t.m, t.n + t.pad_c);
  rng.fill_normal(s.a, 0, 1);
  rng.fill_normal(s.b, 0, 1);
  rng.fill_normal(s.c0, 0, 1);
  return s;
}

// Elements of C that differ from alpha·op(A)·op(B) + beta·C0 (in long double, 64-bit mantissa)
// by more than the scalar's rounding allows: 8 eps of the sum of the terms' magnitudes (2^-20 for
// float, 2^-49 for double; blocked sums of up to 600 terms stay far inside). beta == 0: C0 is not
// part of the result (it may be NaN).
template <typename Scalar>
long wrong_elements(const Case& t, const Stored<Scalar>& s, Scalar alpha, Scalar beta, const Matrix<Scalar>& c) {
  using Wide = long double;
  const auto opa = [&](Index i, Index p) { return Wide(t.op_a == Op::None ? s.a(i, p) : s.a(p, i)); };
  const auto opb = [&](Index p, Index j) { return Wide(t.op_b == Op::None ? s.b(p, j) : s.b(j, p)); };
  const Wide tolerance = 8 * Wide(std::numeric_limits<Scalar>::epsilon());
  long wrong = 0;
  for (Index i = 0; i < t.m; ++i)
    for (Index j = 0; j < t.n; ++j) {
      Wide sum = 0, magnitude = 0;
      for (Index p = 0; p < t.k; ++p) {
        sum += opa(i, p) * opb(p, j);
        magnitude += std::abs(opa(i, p) * opb(p, j));
      }
      Wide expected = Wide(alpha) * sum;
      magnitude *= std::abs(Wide(alpha));
      if (beta != 0) {
        expected += Wide(beta) * Wide(s.c0(i, j));
        magnitude += std::abs(Wide(beta) * Wide(s.c0(i, j)));
      }
      if (!(std::abs(Wide(c(i, j)) - expected) <= magnitude * tolerance + Wide(1e-300))) ++wrong;
    }
  // The padding columns of C are never written.
  for (Index i = 0; i < t.m; ++i)
    for (Index j = t.n; j < t.n + t.pad_c; ++j)
      if (!(c(i, j) == s.c0(i, j) || (std::isnan(c(i, j)) && std::isnan(s.c0(i, j))))) ++wrong;
  return wrong;
}

template <typename Scalar>
Matrix<Scalar> run(const Case& t, const Stored<Scalar>& s, Scalar alpha, Scalar beta) {
  Matrix<Scalar> c = s.c0;
  gemm<Scalar>(t.op_a, t.op_b, alpha, s.a.leftCols(s.a.cols() - t.pad_a), s.b.leftCols(s.b.cols() - t.pad_b), beta,
              c.leftCols(t.n));
  return c;
}

std::vector<SimdIsa> isas_here() {
  std::vector<SimdIsa> isas;
  if (simd_isa() == SimdIsa::Avx512) isas.push_back(SimdIsa::Avx512);
  if (simd_isa() != SimdIsa::None) isas.push_back(SimdIsa::Avx2);
  return isas;
}

struct SimdPinned {
  eigennet_test::RestoreGemmSetting gemm;
  ThreadCountScope threads{thread_count()};
  SimdIsa isa = simd_isa();
  SimdPinned() {
    set_gemm_backend(nullptr);
    pin_gemm_kernel(GemmKernel::Simd);
  }
  ~SimdPinned() { set_simd_isa(isa); }
};

}  // namespace

TEST_CASE_TEMPLATE("simd kernel: every path against a long double reference, in every instruction set of this CPU",
                   Scalar, float, double) {
  if (simd_isa() == SimdIsa::None)
    return eigennet_test::skip("this CPU has neither AVX2 + FMA nor AVX-512: no simd kernel");
  SimdPinned pinned;
  RandomState rng(11);
  std::vector<Case> cases;
  for (Op op_a : {Op::None, Op::Transpose})
    for (Op op_b : {Op::None, Op::Transpose}) {
      // Rows: one, a panel ± 1 (AVX-512 panels hold 14, AVX2 6), several panels, past the rows
      // for which B is read in place; columns: one, a vector ± 1 (16 floats or 8 doubles in
      // AVX-512, half that in AVX2), a strip + 1, past a column block (512); depth: one, a few,
      // across the depth blocks (256 floats, 128 doubles).
      for (Index m : {1, 13, 15, 41, 100})
        for (Index n : {1, 15, 17, 33, 530})
          for (Index k : {1, 7, 257, 600}) cases.push_back({op_a, op_b, m, n, k});
      cases.push_back({op_a, op_b, 29, 70, 300, 3, 5, 2});  // leading dimensions wider than the rows
      // Rows of A 16 KiB apart (op(A) packed), and a wide B (gathered rows for Bᵀ).
      const Index aliasing = 16384 / Index(sizeof(Scalar));
      cases.push_back({op_a, op_b, 30, 40, 50, op_a == Op::None ? aliasing - 50 : aliasing - 30, 0, 0});
      cases.push_back({op_a, op_b, 7, 40, 50, op_a == Op::None ? aliasing - 50 : aliasing - 7, 0, 0});
      // Aᵀ packed because a depth block's rows span more than 512 KiB (rows of 1007 or 1020
      // elements) and B has 320 columns or more; panels of 3 to 5 rows in AVX2, whose packing's
      // whole-vector stores spill past the panel's next step (3 rows of 8 floats: two steps on).
      for (Index m : {7, 20}) cases.push_back({op_a, op_b, m, 400, 300, 1000, 0, 0});
      cases.push_back({op_a, op_b, 20, 600, 64, 0, op_b == Op::None ? 0 : 5000, 0});
    }
  for (SimdIsa isa : isas_here()) {
    set_simd_isa(isa);
    const std::string isa_name = simd_isa_name(isa);
    CAPTURE(isa_name);
    long checked = 0;
    for (const Case& t : cases) {
      CAPTURE(t.m);
      CAPTURE(t.n);
      CAPTURE(t.k);
      CAPTURE(int(t.op_a));
      CAPTURE(int(t.op_b));
      Stored<Scalar> s = stored<Scalar>(t, rng);
      for (auto [alpha, beta] : {std::pair<Scalar, Scalar>{1, 0}, {-0.75, 1}, {1.5, -0.5}}) {
        CAPTURE(beta);
        if (beta == 0) s.c0.leftCols(t.n).setConstant(std::numeric_limits<Scalar>::quiet_NaN());
        set_thread_count(1);
        CHECK(wrong_elements(t, s, alpha, beta, run(t, s, alpha, beta)) == 0);
        ++checked;
        if (beta == 0) rng.fill_normal(s.c0, 0, 1);
      }
    }
    // Split over two threads (a product large enough for threads_for to split it).
    const Case big{Op::None, Op::None, 64, 1000, 784};
    const Stored<Scalar> s = stored<Scalar>(big, rng);
    set_thread_count(2);
    CHECK(wrong_elements<Scalar>(big, s, 1, 1, run<Scalar>(big, s, 1, 1)) == 0);
    // Negative control: one element off by 1000 eps (|c| + 100), far past the tolerance (8 eps of
    // the ~500 that the terms' magnitudes sum to here) but, in double, far below a float rounding
    // of the element, is caught.
    Matrix<Scalar> c = run<Scalar>(big, s, 1, 1);
    c(17, 333) += 1000 * std::numeric_limits<Scalar>::epsilon() * (std::abs(c(17, 333)) + 100);
    CHECK(wrong_elements<Scalar>(big, s, 1, 1, c) == 1);
    const std::string scalar = sizeof(Scalar) == sizeof(float) ? "float" : "double";
    MESSAGE(isa_name << ", " << scalar << ": " << checked << " products checked");
  }
}

TEST_CASE("simd kernel: a narrower instruction set can be chosen, a wider one is refused naming both") {
  if (simd_isa() == SimdIsa::None) return eigennet_test::skip("no simd kernel on this CPU");
  SimdPinned pinned;
  if (simd_isa() == SimdIsa::Avx512) {
    set_simd_isa(SimdIsa::Avx2);
    CHECK(simd_isa() == SimdIsa::Avx2);
    set_simd_isa(SimdIsa::Avx512);
    CHECK(simd_isa() == SimdIsa::Avx512);
  } else {
    CHECK_THROWS_WITH_AS(set_simd_isa(SimdIsa::Avx512), doctest::Contains("cannot run avx512"), std::invalid_argument);
  }
}

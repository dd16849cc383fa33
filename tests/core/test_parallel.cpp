// The speed paths (tools/bench) compute what the plain paths compute:
// - every GEMM kernel built in (Eigen's; OpenBLAS's, oneDNN's where found), pinned, and the
//   planner's choice, against a
//   plain Eigen product, serial and split over threads, on blocks with row strides larger
//   than their width, with k = 0 and with NaNs in C under beta = 0;
// - the threading policy: threads_for() by size, never nested; an exception thrown inside a
//   parallel loop reaches the caller instead of terminating the program;
// - the optimizers, whose large tensors are updated in slices on several threads, give the
//   same bits on one thread and on two, and every entry is updated (no slice lost at a border).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/eigennet.hpp"
#include "gemm/parallel_for.hpp"
#include "support/gemm_settings.hpp"

using namespace eigennet;

namespace {

// Restores the GEMM choice and the thread count however a test case ends.
struct RestoreGemm {
  eigennet_test::RestoreGemmSetting gemm;
  ThreadCountScope threads{thread_count()};
};

}  // namespace

TEST_CASE_TEMPLATE("every GEMM backend matches Eigen's product on strided blocks, serial and threaded", Scalar, float,
                   double) {
  RestoreGemm restore;
  const Scalar tol = std::is_same<Scalar, float>::value ? Scalar(1e-5) : Scalar(1e-12);
  RandomState rng(21);
  for (const auto& b : eigennet_test::every_gemm_setting()) {
    b.apply();
    CHECK(std::string(gemm_backend_name()) == b.name);
    for (int threads : {1, 2}) {
      set_thread_count(threads);
      // Large enough to be split over two threads (m·n·k ≥ 2·kMinWorkPerThread) and small ones that are not;
      // k below and above 128 and n below and above 16 (the OpenBLAS backend's two kernels).
      for (auto dims : {std::array<Index, 3>{2, 3, 4}, std::array<Index, 3>{40, 300, 97},
                        std::array<Index, 3>{301, 40, 97}, std::array<Index, 3>{33, 70, 300},
                        std::array<Index, 3>{700, 10, 200}}) {
        const Index m = dims[0], n = dims[1], k = dims[2];
        CAPTURE(b.name);
        CAPTURE(threads);
        CAPTURE(m);
        // Operands and result are blocks of wider matrices: row strides exceed their widths.
        Matrix<Scalar> a_big(m, k + 3), at_big(k, m + 5), b_big(k, n + 2), bt_big(n, k + 7), c_big(m, n + 4);
        rng.fill_normal(a_big, 0, 1);
        rng.fill_normal(b_big, 0, 1);
        auto a = a_big.leftCols(k);
        auto bm = b_big.leftCols(n);
        at_big.leftCols(m) = a.transpose();
        bt_big.leftCols(k) = bm.transpose();
        const Matrix<Scalar> expected = a * bm;
        const Matrix<Scalar> c_start = Matrix<Scalar>::Constant(m, n, Scalar(0.5));
        auto c = c_big.leftCols(n);
        c_big.setConstant(std::numeric_limits<Scalar>::quiet_NaN());  // beta = 0 must ignore C
        gemm<Scalar>(Op::None, Op::None, 1, a, bm, 0, c);
        CHECK((c - expected).norm() <= tol * expected.norm());
        CHECK(std::isnan(double(c_big(0, n))));  // the columns beside the block are untouched
        gemm<Scalar>(Op::Transpose, Op::None, 1, at_big.leftCols(m), bm, 0, c);
        CHECK((c - expected).norm() <= tol * expected.norm());
        gemm<Scalar>(Op::None, Op::Transpose, 1, a, bt_big.leftCols(k), 0, c);
        CHECK((c - expected).norm() <= tol * expected.norm());
        c = c_start;  // alpha and beta: 2·AB + 3·C
        gemm<Scalar>(Op::Transpose, Op::Transpose, 2, at_big.leftCols(m), bt_big.leftCols(k), 3, c);
        const Matrix<Scalar> expected_ab = 2 * expected + 3 * c_start;
        CHECK((c - expected_ab).norm() <= tol * expected_ab.norm());
      }
      // k = 0: C = beta·C.
      Matrix<Scalar> a0(4, 0), b0(0, 3), c0 = Matrix<Scalar>::Constant(4, 3, 2);
      gemm<Scalar>(Op::None, Op::None, 1, a0, b0, Scalar(0.5), c0);
      CHECK(c0.isApprox(Matrix<Scalar>::Constant(4, 3, 1)));
      gemm<Scalar>(Op::None, Op::None, 1, a0, b0, 0, c0);
      CHECK(c0.isZero());
    }
  }
}

TEST_CASE_TEMPLATE("optimizer updates split over threads equal the single-thread updates, bit for bit", Scalar, float,
                   double) {
  RestoreGemm restore;
  // 1031·521 = 537151 entries (≥ 2·kMinWorkPerThread): split into two slices; neither the middle
  // nor the end falls on a multiple of 16.
  const Index rows = 1031, cols = 521;
  REQUIRE(rows * cols >= 2 * kMinWorkPerThread);
  for (int which = 0; which < 4; ++which) {
    CAPTURE(which);
    std::vector<Matrix<Scalar>> results;
    for (int threads : {1, 2}) {
      set_thread_count(threads);
      RandomState rng(31);
      Matrix<Scalar> w(rows, cols), g(rows, cols);
      rng.fill_normal(w, 0, 1);
      const Matrix<Scalar> w0 = w;
      ParameterList<Scalar> params{{"w", &w, &g}};
      std::unique_ptr<Optimizer<Scalar>> opt;
      if (which == 0) opt = std::make_unique<Sgd<Scalar>>(params, 0.1);
      if (which == 1) opt = std::make_unique<Momentum<Scalar>>(params, 0.1, 0.9);
      if (which == 2) opt = std::make_unique<Momentum<Scalar>>(params, 0.1, 0.9, true);
      if (which == 3) opt = std::make_unique<Adam<Scalar>>(params, 0.01);
      for (int step = 0; step < 3; ++step) {
        rng.fill_normal(g, 0, 1);
        opt->step();
      }
      // No slice lost: it would leave its entries at their start values. (A handful of entries
      // may come back exactly to their start after three steps; the SGD check below that every
      // entry gets its formula's value covers the slice borders.)
      CHECK(((w - w0).array() == Scalar(0)).count() < 16);
      results.push_back(w);
    }
    CHECK(results[0] == results[1]);
  }
  // The plain SGD formula, entry by entry, on a tensor large enough to be split.
  set_thread_count(2);
  Matrix<Scalar> w = Matrix<Scalar>::Constant(rows, cols, 1), g(rows, cols);
  for (Index i = 0; i < w.size(); ++i) g.data()[i] = Scalar(i % 7);
  Sgd<Scalar> sgd({{"w", &w, &g}}, 0.5);
  sgd.step();
  for (Index i = 0; i < w.size(); ++i) {
    if (w.data()[i] != Scalar(1) - Scalar(0.5) * Scalar(i % 7)) {
      FAIL("entry " << i << " is " << w.data()[i]);
      break;
    }
  }
}

TEST_CASE("threads_for gives one thread per kMinWorkPerThread, up to the setting, and one inside a parallel loop") {
  RestoreGemm restore;
  set_thread_count(2);
  CHECK(threads_for(0) == 1);
  CHECK(threads_for(2 * kMinWorkPerThread - 1) == 1);
  CHECK(threads_for(2 * kMinWorkPerThread) == 2);
  CHECK(threads_for(100 * kMinWorkPerThread) == 2);
#ifdef _OPENMP
  std::vector<int> nested(2, 0);
  parallel_for(2, 2, [&](Index n, int) { nested[static_cast<std::size_t>(n)] = threads_for(100 * kMinWorkPerThread); });
  CHECK(nested == std::vector<int>{1, 1});
#endif
}

TEST_CASE("an exception thrown inside a parallel loop is rethrown on the calling thread after the loop") {
  RestoreGemm restore;
  set_thread_count(2);
  std::vector<int> ran(8, 0);
  const auto body = [&](Index n, int) {
    ran[static_cast<std::size_t>(n)] = 1;
    if (n == 5) throw std::runtime_error("sample 5 failed");
  };
  CHECK_THROWS_WITH_AS(parallel_for(8, 2, body), "sample 5 failed", std::runtime_error);
  CHECK(ran == std::vector<int>(8, 1));  // the other iterations still ran
  // The loop is usable again afterwards.
  std::fill(ran.begin(), ran.end(), 0);
  parallel_for(8, 2, [&](Index n, int) { ran[static_cast<std::size_t>(n)] = 1; });
  CHECK(ran == std::vector<int>(8, 1));
}

TEST_CASE("ThreadCountScope sets the library's thread count and restores it however the scope ends") {
  const int before = thread_count();
  {
    const ThreadCountScope serial(1);
    CHECK(thread_count() == 1);
  }
  CHECK(thread_count() == before);
  try {
    const ThreadCountScope three(3);
    CHECK(thread_count() == 3);
    throw std::runtime_error("leaving the scope by an exception");
  } catch (const std::runtime_error&) {
  }
  CHECK(thread_count() == before);
  set_thread_count(0);  // at least one thread
  CHECK(thread_count() == 1);
  set_thread_count(before);
}

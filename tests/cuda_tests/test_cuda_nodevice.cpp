// The GPU part's behaviour where no device answers (this runs everywhere, GPU or not): the
// query says why, and every use of the device throws a clear error instead of crashing. Also the
// row-major → column-major argument mapping of every cuBLAS GEMM, checked on the CPU.
#include <doctest/doctest.h>

#include <algorithm>

#include "cuda_test_tools.hpp"
#include "eigennet/cuda/device_matrix.hpp"
#include "eigennet/cuda/device_network.hpp"
#include "runtime.hpp"

using namespace eigennet;
using namespace cuda_test;

TEST_CASE("the device query answers with a device or a reason, and never throws") {
  CHECK(cuda::built_with_cuda());
  const cuda::DeviceInfo& info = cuda::query_device();
  MESSAGE("device: " << (info.available ? info.name : "none (" + info.reason + ")"));
  if (info.available) {
    CHECK_FALSE(info.name.empty());
    CHECK(info.reason.empty());
  } else {
    CHECK(info.name.empty());
    const bool says_why = info.reason.find("no CUDA driver") != std::string::npos ||
                          info.reason.find("no CUDA device") != std::string::npos ||
                          info.reason.find("does not answer") != std::string::npos;
    CHECK_MESSAGE(says_why, info.reason);
  }
  CHECK(&cuda::query_device() == &info);  // asked once, cached
}

TEST_CASE("without a device: DeviceMatrix, DeviceNetwork and the GEMM backend fail clearly") {
  const cuda::DeviceInfo& info = cuda::query_device();
  if (info.available) {
    MESSAGE("a device answers: the no-device behaviour is not observable here");
    CHECK(cuda_gemm_backend() != nullptr);
    return;
  }
  CHECK(cuda_gemm_backend() == nullptr);
  CHECK(cuda_gemm_backend(0.0) == nullptr);
  CHECK_THROWS_WITH_AS(cuda_gemm_backend(-1.0), doctest::Contains("min_flops must be ≥ 0"), std::invalid_argument);
  CHECK(cuda_gemm_device_products() == 0);

  cuda::DeviceMatrix<float> empty;  // holds nothing: needs no device
  CHECK(empty.rows() == 0);
  CHECK(empty.data() == nullptr);

  try {
    cuda::DeviceMatrix<float> m(3, 4);
    FAIL("DeviceMatrix(3, 4) did not throw without a device");
  } catch (const cuda::CudaError& e) {
    const std::string text = e.what();
    MESSAGE(text);
    CHECK(text.find("DeviceMatrix<float> 3×4") != std::string::npos);
    CHECK(text.find("no CUDA device") != std::string::npos);
    CHECK(text.find(info.reason) != std::string::npos);
  }
  CHECK_THROWS_AS(cuda::DeviceMatrix<double>(Matrix<double>::Ones(2, 2)), cuda::CudaError);

  Network<float> net;
  net.emplace<Dense<float>>(4, 3);
  cuda::DeviceOptions options;
  options.max_batch = 8;
  CHECK_THROWS_AS(cuda::DeviceNetwork<float>(net, options), cuda::CudaError);
  CHECK(cuda::device_allocation_count() == 0);
}

namespace {

// The reference BLAS's column-major GEMM (what cuBLAS computes), with cuBLAS's argument checks:
// C'[m×n] = alpha·op(A')·op(B') + beta·C', element (i, j) of a column-major matrix at p[i + j·ld].
void column_major_gemm(Op transa, Op transb, Index m, Index n, Index k, double alpha, const double* a, Index lda,
                       const double* b, Index ldb, double beta, double* c, Index ldc) {
  REQUIRE(m >= 0);
  REQUIRE(n >= 0);
  REQUIRE(k >= 0);
  REQUIRE(lda >= std::max<Index>(1, transa == Op::None ? m : k));  // else CUBLAS_STATUS_INVALID_VALUE
  REQUIRE(ldb >= std::max<Index>(1, transb == Op::None ? k : n));
  REQUIRE(ldc >= std::max<Index>(1, m));
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      double sum = 0;
      for (Index l = 0; l < k; ++l)
        sum += (transa == Op::None ? a[i + l * lda] : a[l + i * lda]) * (transb == Op::None ? b[l + j * ldb] : b[j + l * ldb]);
      c[i + j * ldc] = alpha * sum + beta * c[i + j * ldc];
    }
}

// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C through gemm_rows_as_column_major (the mapping
// that gemm_rows hands to cuBLAS), against Eigen, with operands stored in wider matrices (row
// strides lda, ldb, ldc larger than their widths where pad > 0).
void check_mapping(Op op_a, Op op_b, Index m, Index n, Index k, Index pad) {
  CAPTURE(int(op_a));
  CAPTURE(int(op_b));
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  RandomState rng(std::uint32_t(m * 131 + n * 17 + k + pad));
  const Index a_rows = op_a == Op::None ? m : k, a_cols = op_a == Op::None ? k : m;
  const Index b_rows = op_b == Op::None ? k : n, b_cols = op_b == Op::None ? n : k;
  const Matrix<double> a_store = random_matrix<double>(a_rows, a_cols + pad, rng);
  const Matrix<double> b_store = random_matrix<double>(b_rows, b_cols + pad, rng);
  Matrix<double> c_store = random_matrix<double>(m, n + pad, rng);
  const Matrix<double> a = a_store.leftCols(a_cols), b = b_store.leftCols(b_cols);
  const Matrix<double> op_a_value = op_a == Op::None ? a : Matrix<double>(a.transpose());
  const Matrix<double> op_b_value = op_b == Op::None ? b : Matrix<double>(b.transpose());
  const Matrix<double> expected = 0.5 * op_a_value * op_b_value + 2.0 * c_store.leftCols(n);
  cuda::detail::gemm_rows_as_column_major(op_a, op_b, m, n, k, 0.5, a_store.data(), a_store.cols(), b_store.data(),
                                          b_store.cols(), 2.0, c_store.data(), c_store.cols(), column_major_gemm);
  CHECK((c_store.leftCols(n) - expected).norm() <= 1e-12 * (1 + expected.norm()));
}

}  // namespace

TEST_CASE("the row-major → column-major GEMM mapping handed to cuBLAS (no device needed)") {
  for (Op op_a : {Op::None, Op::Transpose})
    for (Op op_b : {Op::None, Op::Transpose}) {
      check_mapping(op_a, op_b, 7, 5, 3, 0);
      check_mapping(op_a, op_b, 4, 9, 6, 3);
      check_mapping(op_a, op_b, 1, 6, 2, 2);
      check_mapping(op_a, op_b, 6, 1, 1, 0);
    }
}

TEST_CASE("DeviceNetwork's dense-layer products, as it calls gemm_rows, through the same mapping") {
  // x: n×D_in, W: (D_in+1)×D_out (bias last row), dy: n×D_out; as in src/cuda/device_network.cpp.
  const Index n = 5, d_in = 7, d_out = 3;
  RandomState rng(3);
  const Matrix<double> x = random_matrix<double>(n, d_in, rng), w = random_matrix<double>(d_in + 1, d_out, rng);
  const Matrix<double> dy = random_matrix<double>(n, d_out, rng);
  const auto top = w.topRows(d_in);

  Matrix<double> y = Matrix<double>::Zero(n, d_out);  // forward: Y = X·W[0:D_in]
  cuda::detail::gemm_rows_as_column_major(Op::None, Op::None, n, d_out, d_in, 1.0, x.data(), d_in, w.data(), d_out, 0.0,
                                          y.data(), d_out, column_major_gemm);
  CHECK((y - x * top).norm() <= 1e-12);

  Matrix<double> dw = Matrix<double>::Zero(d_in + 1, d_out);  // dW[0:D_in] = Xᵀ·dY
  cuda::detail::gemm_rows_as_column_major(Op::Transpose, Op::None, d_in, d_out, n, 1.0, x.data(), d_in, dy.data(),
                                          d_out, 0.0, dw.data(), d_out, column_major_gemm);
  CHECK((dw.topRows(d_in) - x.transpose() * dy).norm() <= 1e-12);
  CHECK(dw.row(d_in).norm() == 0);  // the bias row is not touched

  Matrix<double> dx = Matrix<double>::Zero(n, d_in);  // dX = dY·W[0:D_in]ᵀ
  cuda::detail::gemm_rows_as_column_major(Op::None, Op::Transpose, n, d_in, d_out, 1.0, dy.data(), d_out, w.data(),
                                          d_out, 0.0, dx.data(), d_in, column_major_gemm);
  CHECK((dx - dy * top.transpose()).norm() <= 1e-12);
}

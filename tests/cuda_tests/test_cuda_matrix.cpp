// DeviceMatrix (ownership, copies, shape checks), its cuBLAS GEMM against eigennet::gemm(), and
// the host-pointer backend (cuda_gemm_backend) against the built-in one. Needs a GPU.
#include <doctest/doctest.h>

#include "cuda_test_tools.hpp"
#include "eigennet/cuda/device_matrix.hpp"

using namespace eigennet;
using namespace cuda_test;

TEST_CASE_TEMPLATE("DeviceMatrix: upload, download, move, shape errors", Scalar, float, double) {
  if (!device_or_skip()) return;
  RandomState rng(1);
  const Matrix<Scalar> host = random_matrix<Scalar>(5, 7, rng);
  cuda::DeviceMatrix<Scalar> d(host);
  CHECK(d.rows() == 5);
  CHECK(d.cols() == 7);
  CHECK(d.download() == host);

  // A block of rows (row stride 7, width 3) copies as a 2-D block both ways.
  cuda::DeviceMatrix<Scalar> block(Matrix<Scalar>(host.block(1, 2, 3, 3)));
  CHECK(block.download() == host.block(1, 2, 3, 3));
  Matrix<Scalar> back = Matrix<Scalar>::Zero(5, 7);
  block.download(back.block(0, 4, 3, 3));
  CHECK(back.block(0, 4, 3, 3) == host.block(1, 2, 3, 3));

  cuda::DeviceMatrix<Scalar> moved(std::move(d));
  CHECK(d.data() == nullptr);
  CHECK(d.rows() == 0);
  CHECK(moved.download() == host);

  CHECK(cuda::DeviceMatrix<Scalar>(3, 2).download() == Matrix<Scalar>::Zero(3, 2));
  const Matrix<Scalar> wrong(4, 7);
  CHECK_THROWS_WITH_AS(moved.upload(wrong), doctest::Contains("expected shape 5×7, got 4×7"), std::invalid_argument);
  Matrix<Scalar> wrong_out(5, 6);
  CHECK_THROWS_AS(moved.download(wrong_out), std::invalid_argument);
}

TEST_CASE_TEMPLATE("cuda::gemm equals eigennet::gemm for every op pair", Scalar, float, double) {
  if (!device_or_skip()) return;
  RandomState rng(2);
  const Index m = 37, n = 53, k = 61;
  for (Op op_a : {Op::None, Op::Transpose})
    for (Op op_b : {Op::None, Op::Transpose}) {
      CAPTURE(int(op_a));
      CAPTURE(int(op_b));
      const Matrix<Scalar> a = op_a == Op::None ? random_matrix<Scalar>(m, k, rng) : random_matrix<Scalar>(k, m, rng);
      const Matrix<Scalar> b = op_b == Op::None ? random_matrix<Scalar>(k, n, rng) : random_matrix<Scalar>(n, k, rng);
      Matrix<Scalar> c = random_matrix<Scalar>(m, n, rng);
      cuda::DeviceMatrix<Scalar> da(a), db(b), dc(c);
      gemm<Scalar>(op_a, op_b, Scalar(0.5), a, b, Scalar(2), c);
      cuda::gemm<Scalar>(op_a, op_b, Scalar(0.5), da, db, Scalar(2), dc);
      CHECK(relative_error<Scalar>(dc.download(), c) <= tolerance<Scalar>());
    }
  cuda::DeviceMatrix<Scalar> a(3, 4), b(5, 6), c(3, 6);
  CHECK_THROWS_WITH_AS(cuda::gemm<Scalar>(Op::None, Op::None, 1, a, b, 0, c),
                       doctest::Contains("op(A) is 3×4, op(B) is 5×6"), std::invalid_argument);
}

TEST_CASE_TEMPLATE("cuda_gemm_backend(min_flops): GPU above the crossover, CPU below, both equal to Eigen", Scalar,
                   float, double) {
  if (!device_or_skip()) return;
  RandomState rng(3);
  // Strided operands: blocks of larger matrices.
  const Matrix<Scalar> a_big = random_matrix<Scalar>(70, 90, rng), b_big = random_matrix<Scalar>(90, 80, rng);
  const auto a = a_big.block(3, 5, 60, 70);
  const auto b = b_big.block(2, 1, 70, 50);
  Matrix<Scalar> expected = random_matrix<Scalar>(60, 50, rng);
  Matrix<Scalar> on_gpu = expected, on_cpu = expected;
  set_gemm_backend(nullptr);
  gemm<Scalar>(Op::None, Op::None, 1, a, b, Scalar(0.5), expected);
  for (double crossover : {0.0, 1e30}) {
    CAPTURE(crossover);
    set_gemm_backend(cuda_gemm_backend(crossover));
    CHECK(std::string(gemm_backend_name()) == "cublas+cpu");
    Matrix<Scalar>& c = crossover == 0 ? on_gpu : on_cpu;
    const std::size_t before = cuda_gemm_device_products();
    gemm<Scalar>(Op::None, Op::None, 1, a, b, Scalar(0.5), c);
    set_gemm_backend(nullptr);
    CHECK(cuda_gemm_device_products() - before == (crossover == 0 ? 1u : 0u));
    CHECK(relative_error<Scalar>(c, expected) <= tolerance<Scalar>());
  }
  CHECK_THROWS_WITH_AS(cuda_gemm_backend(-1.0), doctest::Contains("min_flops must be ≥ 0"), std::invalid_argument);
  // An empty depth (k = 0): C = β·C, also with every product sent to the GPU.
  const Matrix<Scalar> a0(6, 0), b0(0, 4);
  Matrix<Scalar> c0 = random_matrix<Scalar>(6, 4, rng);
  const Matrix<Scalar> half = Scalar(0.5) * c0;
  set_gemm_backend(cuda_gemm_backend(0.0));
  gemm<Scalar>(Op::None, Op::None, 1, a0, b0, Scalar(0.5), c0);
  set_gemm_backend(nullptr);
  CHECK(c0 == half);
}

// The measured backend: a product's first call times it on the CPU and on the GPU (C restored
// between trials, so the call's result is the product on the caller's C), later calls run where
// it was faster. A 3×5×4 product cannot repay three copies and a launch (tens of µs against well
// under one); a 1024³ one (2.1 GFLOP) takes one CPU thread 25–50 ms against a few ms on the GPU,
// copies of 12–24 MB from pageable memory included. (With the GPU machine's 16 threads the CPU
// would take 2–4 ms, too close to call: the test runs the CPU side on one thread.)
TEST_CASE_TEMPLATE("cuda_gemm_backend(): each product measured on its first call, then run where it was faster",
                   Scalar, float, double) {
  if (!device_or_skip()) return;
  const ThreadCountScope one_thread(1);
  RandomState rng(5);
  const std::shared_ptr<GemmBackend> measured = cuda_gemm_backend();
  set_gemm_backend(measured);
  CHECK(std::string(gemm_backend_name()) == "cublas+cpu, measured");
  for (Index size : {Index(4), Index(1024)}) {
    CAPTURE(size);
    const Index m = size == 4 ? 3 : size, n = size == 4 ? 5 : size, k = size;
    const Matrix<Scalar> a = random_matrix<Scalar>(k, m, rng), b = random_matrix<Scalar>(k, n, rng);
    const Matrix<Scalar> c0 = random_matrix<Scalar>(m, n, rng);
    Matrix<Scalar> expected = c0;
    set_gemm_backend(nullptr);
    gemm<Scalar>(Op::Transpose, Op::None, 2, a, b, Scalar(0.5), expected);
    set_gemm_backend(measured);
    for (int call = 0; call < 3; ++call) {
      CAPTURE(call);
      Matrix<Scalar> c = c0;
      const std::size_t before = cuda_gemm_device_products();
      gemm<Scalar>(Op::Transpose, Op::None, 2, a, b, Scalar(0.5), c);
      const std::size_t on_gpu = cuda_gemm_device_products() - before;
      if (call == 0)
        CHECK(on_gpu >= 4);  // the trials: one untimed run and at least three timed on the GPU
      else
        CHECK(on_gpu == (size == 4 ? 0u : 1u));
      CHECK(relative_error<Scalar>(c, expected) <= tolerance<Scalar>());
    }
  }
  set_gemm_backend(nullptr);
}

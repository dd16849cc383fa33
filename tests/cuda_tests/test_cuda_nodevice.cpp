// The GPU part's behaviour where no device answers (this runs everywhere, GPU or not): the
// query says why, and every use of the device throws a clear error instead of crashing.
#include <doctest/doctest.h>

#include "cuda_test_tools.hpp"
#include "eigennet/cuda/device_matrix.hpp"
#include "eigennet/cuda/device_network.hpp"

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

// The one error-check helper of the GPU part, for CUDA runtime and cuBLAS status codes. Plain
// C++ (no Eigen): .cu and .cpp files both use it. A failure throws eigennet::cuda::CudaError
// "<what>: <status name>: <status text>", where `what` names the call and its shapes.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

namespace eigennet {
namespace cuda {
namespace detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const std::string& what);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const std::string& what);

// `what` is a string or a callable that builds it, so hot paths pay for the text only on failure.
inline std::string what_text(const char* what) { return what; }
inline std::string what_text(const std::string& what) { return what; }
template <typename MakeText>
auto what_text(const MakeText& make_text) -> decltype(std::string(make_text())) {
  return make_text();
}

template <typename What>
void check_cuda(cudaError_t status, const What& what) {
  if (status != cudaSuccess) throw_cuda_error(status, what_text(what));
}

template <typename What>
void check_cublas(cublasStatus_t status, const What& what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas_error(status, what_text(what));
}

}  // namespace detail
}  // namespace cuda
}  // namespace eigennet

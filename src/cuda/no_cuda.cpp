// device.hpp in a build without the GPU part (meson -Dcuda=disabled, or no nvcc + cuBLAS).
#include "eigennet/cuda/device.hpp"

namespace eigennet {
namespace cuda {

bool built_with_cuda() { return false; }

const DeviceInfo& query_device() {
  static const DeviceInfo info{false, "", "built without CUDA (meson -Dcuda=disabled, or nvcc and cuBLAS not found)"};
  return info;
}

std::size_t device_allocation_count() { return 0; }

}  // namespace cuda

std::shared_ptr<GemmBackend> cuda_gemm_backend() { return nullptr; }
std::shared_ptr<GemmBackend> cuda_gemm_backend(double) { return nullptr; }

}  // namespace eigennet

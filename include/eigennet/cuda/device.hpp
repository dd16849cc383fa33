// The GPU, as eigennet sees it: is there one, and why not. Available in every build; where
// eigennet was built without CUDA (meson -Dcuda=disabled, or no nvcc and cuBLAS found),
// query_device() says so and cuda_gemm_backend() returns nullptr.
//
// The GPU part never links the CUDA driver (-lcuda): the CUDA runtime loads it when first used,
// so a program built with CUDA starts, and answers "no device", on a machine without a GPU or
// driver. Nothing here throws.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "eigennet/gemm/gemm.hpp"

namespace eigennet {
namespace cuda {

struct DeviceInfo {
  bool available = false;  // a device answered and is in use (device 0)
  std::string name;        // e.g. "NVIDIA H200 (compute capability 9.0, 132 SMs)"
  std::string reason;      // why not, when !available: "built without CUDA", "no CUDA driver (...)", …
};

// True where eigennet was built with its GPU part.
bool built_with_cuda();

// Asks the CUDA runtime once (the answer is cached). Never throws.
const DeviceInfo& query_device();

// A CUDA or cuBLAS call failed, or the GPU part was used where no device answers. The message
// names the call, the shapes involved and the CUDA/cuBLAS status ("cudaErrorMemoryAllocation:
// out of memory").
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How many device allocations eigennet has made so far: every one goes through a single
// function, so a test can prove that a training step allocates nothing.
std::size_t device_allocation_count();

}  // namespace cuda

// A backend for set_gemm_backend() for programs that keep their matrices on the host: products
// of at least min_flops (2·m·n·k) are copied to the GPU and run by cuBLAS, smaller ones run on
// the CPU (Eigen's kernel). Returns nullptr where eigennet was built without CUDA or no device
// answers (query_device() says why), so `set_gemm_backend(cuda_gemm_backend())` is always safe.
// The default crossover is kCudaGemmCrossoverFlops (src/cuda/gemm_backend.cpp).
std::shared_ptr<GemmBackend> cuda_gemm_backend();
std::shared_ptr<GemmBackend> cuda_gemm_backend(double min_flops);

// A placeholder, NOT a measurement: 2·m·n·k at and above which the host-pointer backend sends a
// product to the GPU. The copies in and out of the device cost ~10 µs plus the bytes at PCIe
// speed, so only large products gain; the real crossover must be measured on the GPU machine
// (tools/cuda/device-check.sh prints the timings around it) and this value replaced.
inline constexpr double kCudaGemmCrossoverFlops = 1e9;

}  // namespace eigennet

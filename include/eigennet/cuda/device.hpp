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

// A backend for set_gemm_backend() for programs that keep their matrices on the host. A product
// on the GPU is copied in, run by cuBLAS and copied back; on the CPU it takes the library's own
// path (the planner's kernel over the threads, as with no backend plugged in). Where each one
// runs is measured, as the CPU planner measures its kernels (plan.hpp): each distinct product
// (scalar, op(A), op(B), m, n, k, whether beta is 0, the CPU threads) is timed both ways on its
// first call, on the caller's operands, and from then on runs where it was faster. So only
// products large enough to repay the copies (~10 µs plus the bytes at PCIe speed) go to the GPU,
// on whatever CPU and GPU the program meets. Measuring allocates (a copy of C, the GPU's operand
// buffers as they grow); a measured product on the CPU allocates nothing. A measured choice can
// differ between runs, and the two sides round differently: a run that must repeat bit for bit
// uses the fixed rule below. Returns nullptr where eigennet was built without CUDA or no device
// answers (query_device() says why), so `set_gemm_backend(cuda_gemm_backend())` is always safe.
std::shared_ptr<GemmBackend> cuda_gemm_backend();
// The same with a fixed rule instead of measuring: products of at least min_flops (2·m·n·k, ≥ 0)
// on the GPU, smaller ones on the CPU (0: every non-empty product on the GPU).
std::shared_ptr<GemmBackend> cuda_gemm_backend(double min_flops);
// How many products the host-pointer backends have run on the GPU so far (measuring trials too).
std::size_t cuda_gemm_device_products();

}  // namespace eigennet

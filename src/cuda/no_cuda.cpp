// device.hpp and device_training.hpp in a build without the GPU part (meson -Dcuda=disabled, or
// no nvcc + cuBLAS): every question gets the answer "built without CUDA".
#include "eigennet/cuda/device.hpp"
#include "eigennet/cuda/device_training.hpp"

#include <stdexcept>
#include <string>

namespace eigennet {
namespace cuda {

bool built_with_cuda() { return false; }

const DeviceInfo& query_device() {
  static const DeviceInfo info{false, "", "built without CUDA (meson -Dcuda=disabled, or nvcc and cuBLAS not found)"};
  return info;
}

std::size_t device_allocation_count() { return 0; }

template <typename Scalar>
std::string device_support(const Network<Scalar>&, const Loss<Scalar>&, const Optimizer<Scalar>&) {
  return query_device().reason;
}

template <typename Scalar>
std::unique_ptr<Stepper<Scalar>> make_device_stepper(Network<Scalar>&, const Loss<Scalar>&, const Optimizer<Scalar>&,
                                                     const LabeledData<Scalar>&, Index, bool) {
  throw CudaError("device training: " + query_device().reason);
}

template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>&, const Loss<Scalar>&, ConstMatrixRef<Scalar>,
                                           ConstLabelsRef) {
  throw CudaError("device gradients: " + query_device().reason);
}

template <typename Scalar>
ExternalGradients<Scalar> device_gradients(Network<Scalar>&, const Loss<Scalar>&, ConstMatrixRef<Scalar>,
                                           ConstMatrixRef<Scalar>) {
  throw CudaError("device gradients: " + query_device().reason);
}

#define EIGENNET_INSTANTIATE(Scalar)                                                                              \
  template ExternalGradients<Scalar> device_gradients<Scalar>(Network<Scalar>&, const Loss<Scalar>&,               \
                                                              ConstMatrixRef<Scalar>, ConstLabelsRef);            \
  template ExternalGradients<Scalar> device_gradients<Scalar>(Network<Scalar>&, const Loss<Scalar>&,               \
                                                              ConstMatrixRef<Scalar>, ConstMatrixRef<Scalar>);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

template std::string device_support<float>(const Network<float>&, const Loss<float>&, const Optimizer<float>&);
template std::string device_support<double>(const Network<double>&, const Loss<double>&, const Optimizer<double>&);
template std::unique_ptr<Stepper<float>> make_device_stepper<float>(Network<float>&, const Loss<float>&,
                                                                    const Optimizer<float>&,
                                                                    const LabeledData<float>&, Index, bool);
template std::unique_ptr<Stepper<double>> make_device_stepper<double>(Network<double>&, const Loss<double>&,
                                                                      const Optimizer<double>&,
                                                                      const LabeledData<double>&, Index, bool);

}  // namespace cuda

std::shared_ptr<GemmBackend> cuda_gemm_backend() { return nullptr; }
std::shared_ptr<GemmBackend> cuda_gemm_backend(double min_flops) {
  if (!(min_flops >= 0))
    throw std::invalid_argument("cuda_gemm_backend: min_flops must be ≥ 0, got " + std::to_string(min_flops));
  return nullptr;
}
std::size_t cuda_gemm_device_products() { return 0; }

}  // namespace eigennet

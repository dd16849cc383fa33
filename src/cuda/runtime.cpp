#include "runtime.hpp"

#include <atomic>
#include <climits>
#include <memory>
#include <stdexcept>

namespace eigennet {
namespace cuda {
namespace detail {

void throw_cuda_error(cudaError_t status, const std::string& what) {
  cudaGetLastError();  // clear a non-sticky error so later calls start clean
  throw CudaError(what + ": " + cudaGetErrorName(status) + ": " + cudaGetErrorString(status));
}

void throw_cublas_error(cublasStatus_t status, const std::string& what) {
  throw CudaError(what + ": " + cublasGetStatusName(status) + ": " + cublasGetStatusString(status));
}

}  // namespace detail

bool built_with_cuda() { return true; }

namespace {

DeviceInfo ask_runtime() {
  DeviceInfo info;
  int count = 0;  // cudaGetDeviceCount leaves it untouched when it fails (no driver: error 35)
  const cudaError_t status = cudaGetDeviceCount(&count);
  cudaGetLastError();
  if (status == cudaErrorInsufficientDriver) {
    info.reason = "no CUDA driver, or one older than this CUDA runtime (cudaGetDeviceCount: " +
                  std::string(cudaGetErrorName(status)) + ")";
  } else if (status != cudaSuccess) {
    info.reason = "no CUDA device (cudaGetDeviceCount: " + std::string(cudaGetErrorName(status)) + ": " +
                  cudaGetErrorString(status) + ")";
  } else if (count == 0) {
    info.reason = "no CUDA device (cudaGetDeviceCount found 0)";
  } else {
    cudaDeviceProp properties{};
    const cudaError_t got = cudaGetDeviceProperties(&properties, 0);
    if (got != cudaSuccess) {
      cudaGetLastError();
      info.reason = "CUDA device 0 does not answer (cudaGetDeviceProperties: " + std::string(cudaGetErrorName(got)) + ")";
    } else {
      info.available = true;
      info.name = std::string(properties.name) + " (compute capability " + std::to_string(properties.major) + "." +
                  std::to_string(properties.minor) + ", " + std::to_string(properties.multiProcessorCount) + " SMs)";
    }
  }
  return info;
}

std::atomic<std::size_t> allocations{0};

}  // namespace

const DeviceInfo& query_device() {
  static const DeviceInfo info = ask_runtime();
  return info;
}

std::size_t device_allocation_count() { return allocations.load(); }

namespace detail {

void require_device(const std::string& what) {
  const DeviceInfo& info = query_device();
  if (!info.available) throw CudaError(what + ": no CUDA device: " + info.reason);
}

void* device_allocate(std::size_t bytes, const std::string& what) {
  require_device(what);
  void* pointer = nullptr;
  check_cuda(cudaMalloc(&pointer, bytes), [&] { return "cudaMalloc(" + std::to_string(bytes) + " bytes) for " + what; });
  ++allocations;
  return pointer;
}

void device_free(void* pointer) noexcept {
  if (pointer) cudaFree(pointer);
}

namespace {
// cuBLAS's recommended workspace on Hopper (32 MiB; 4 MiB suffices on older GPUs).
constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;
}  // namespace

Context::Context(bool own_stream, bool tf32) : own_stream_(own_stream) {
  require_device("CUDA context");
  try {
    if (own_stream) check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate");
    check_cublas(cublasCreate(&cublas_), "cublasCreate");
    check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
    // After cublasSetStream, which resets the workspace to cuBLAS's own pool.
    workspace_ = device_allocate(kCublasWorkspaceBytes, "cuBLAS workspace");
    check_cublas(cublasSetWorkspace(cublas_, workspace_, kCublasWorkspaceBytes), "cublasSetWorkspace");
    check_cublas(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 "cublasSetMathMode");
  } catch (...) {
    release();
    throw;
  }
}

Context::~Context() { release(); }

void Context::release() noexcept {
  if (cublas_) cublasDestroy(cublas_);
  cublas_ = nullptr;
  device_free(workspace_);
  workspace_ = nullptr;
  if (own_stream_ && stream_) cudaStreamDestroy(stream_);
  stream_ = nullptr;
}

void Context::synchronize(const char* what) const {
  check_cuda(cudaStreamSynchronize(stream_), [&] { return std::string("cudaStreamSynchronize after ") + what; });
}

PinnedStaging::PinnedStaging(std::size_t slot_bytes, int slots, const std::string& what) : slot_bytes_(slot_bytes) {
  if (slots < 1) throw std::invalid_argument("PinnedStaging for " + what + ": slots must be positive");
  require_device(what);
  try {
    const std::size_t bytes = std::max<std::size_t>(slot_bytes * std::size_t(slots), 1);
    void* memory = nullptr;
    check_cuda(cudaHostAlloc(&memory, bytes, cudaHostAllocDefault),
               [&] { return "cudaHostAlloc(" + std::to_string(bytes) + " bytes) for " + what; });
    memory_ = static_cast<unsigned char*>(memory);
    copied_.reserve(std::size_t(slots));
    for (int i = 0; i < slots; ++i) {
      cudaEvent_t event = nullptr;
      check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), [&] { return "cudaEventCreate for " + what; });
      copied_.push_back(event);
    }
  } catch (...) {
    release();
    throw;
  }
}

void* PinnedStaging::slot() {
  // An event never recorded counts as completed: the first round does not wait.
  check_cuda(cudaEventSynchronize(copied_[next_]), "cudaEventSynchronize on a staging slot's last copy");
  return memory_ + next_ * slot_bytes_;
}

void PinnedStaging::copy_to_device(void* device, std::size_t bytes, cudaStream_t stream, const char* what) {
  if (bytes > slot_bytes_)
    throw std::logic_error(std::string("PinnedStaging: ") + what + ": " + std::to_string(bytes) +
                           " bytes do not fit a slot of " + std::to_string(slot_bytes_));
  check_cuda(cudaMemcpyAsync(device, memory_ + next_ * slot_bytes_, bytes, cudaMemcpyHostToDevice, stream),
             [&] { return std::string("copying ") + what + " to the device"; });
  check_cuda(cudaEventRecord(copied_[next_], stream), [&] { return std::string("cudaEventRecord after copying ") + what; });
  next_ = (next_ + 1) % copied_.size();
}

void PinnedStaging::swap(PinnedStaging& other) noexcept {
  std::swap(memory_, other.memory_);
  std::swap(slot_bytes_, other.slot_bytes_);
  copied_.swap(other.copied_);
  std::swap(next_, other.next_);
}

void PinnedStaging::release() noexcept {
  for (cudaEvent_t event : copied_) {
    cudaEventSynchronize(event);  // no copy may still read the memory freed below
    cudaEventDestroy(event);
  }
  copied_.clear();
  if (memory_) cudaFreeHost(memory_);
  memory_ = nullptr;
}

Context& default_context() {
  thread_local std::unique_ptr<Context> context;
  if (!context) context = std::make_unique<Context>(false, false);
  return *context;
}

namespace {

cublasOperation_t cublas_op(Op op) { return op == Op::Transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

cublasStatus_t cublas_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                           float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
cublasStatus_t cublas_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* a, int lda, const double* b, int ldb,
                           const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

template <typename Scalar>
void gemm_rows(const Context& ctx, Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a,
               Index lda, const Scalar* b, Index ldb, Scalar beta, Scalar* c, Index ldc) {
  const char* call = sizeof(Scalar) == 4 ? "cublasSgemm" : "cublasDgemm";
  auto what = [&] {
    return std::string(call) + " (row-major C " + shape_string(m, n) + " = op(A) " + shape_string(m, k) +
           " · op(B) " + shape_string(k, n) + ", op(A) " + (op_a == Op::Transpose ? "Aᵀ" : "A") + ", op(B) " +
           (op_b == Op::Transpose ? "Bᵀ" : "B") + ")";
  };
  for (Index v : {m, n, k, lda, ldb, ldc})
    if (v < 0 || v > INT_MAX) throw std::invalid_argument(what() + ": sizes must lie in [0, 2^31)");
  // cuBLAS's own argument names: column-major C' = alpha'·op(A')·op(B') + beta'·C'.
  gemm_rows_as_column_major(op_a, op_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                            [&](Op transa, Op transb, Index cm, Index cn, Index ck, Scalar calpha, const Scalar* ca,
                                Index clda, const Scalar* cb, Index cldb, Scalar cbeta, Scalar* cc, Index cldc) {
                              check_cublas(cublas_gemm(ctx.cublas(), cublas_op(transa), cublas_op(transb), int(cm),
                                                       int(cn), int(ck), &calpha, ca, int(clda), cb, int(cldb), &cbeta,
                                                       cc, int(cldc)),
                                           what);
                            });
}

template void gemm_rows<float>(const Context&, Op, Op, Index, Index, Index, float, const float*, Index, const float*,
                               Index, float, float*, Index);
template void gemm_rows<double>(const Context&, Op, Op, Index, Index, Index, double, const double*, Index,
                                const double*, Index, double, double*, Index);

}  // namespace detail
}  // namespace cuda
}  // namespace eigennet

#include "kernels/cuda/cuda_backend.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>
#include <stdexcept>
#include <string>

#include "base/errors.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/attention_cached.cuh"
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/matmul.cuh"
#include "kernels/cuda/norms.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/rope.cuh"

namespace merino {
namespace {

static_assert(sizeof(bf16) == sizeof(__nv_bfloat16) && alignof(bf16) == alignof(__nv_bfloat16),
              "merino::bf16 buffers are handed to the kernels as __nv_bfloat16");

// The kernels' element type for T: float, or CUDA's bf16 for merino::bf16 (the same bits).
template <class T>
using elem_t = std::conditional_t<std::is_same_v<T, bf16>, __nv_bfloat16, T>;

template <class T>
elem_t<T>* dev(T* p) {
  return reinterpret_cast<elem_t<T>*>(p);
}
template <class T>
const elem_t<T>* dev(const T* p) {
  return reinterpret_cast<const elem_t<T>*>(p);
}

// A device buffer that only grows: the kernels' scratch space, sized by the largest call seen
// (or, once memory is planned, by the plan's shapes up front, so it never grows during steps).
class GrowingBuffer {
 public:
  explicit GrowingBuffer(DeviceMemory& mem) : mem_(mem) {}
  void* get(size_t bytes, cudaStream_t stream) {
    if (bytes <= bytes_) return p_;
    CUDA_CHECK(cudaStreamSynchronize(stream));  // earlier kernels may still use the old one
    mem_.release(p_);
    p_ = nullptr;
    bytes_ = 0;  // so that a failed alloc below leaves no size behind for a null pointer
    p_ = mem_.alloc(bytes);
    bytes_ = bytes;
    return p_;
  }

 private:
  DeviceMemory& mem_;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

// What reserve() leaves free beyond the block: NCCL connects its buffers at the first
// collective, and the communicator's staging, CUDA's lazily loaded modules and cudaMalloc's
// granularity come after the reservation too. A run that fits only without it would fail later
// with CUDA's own out-of-memory error instead of the sizes.
constexpr size_t kReserveHeadroom = size_t(512) << 20;

// The kernels' scratch for the largest shapes of a plan: the most any one backward kernel (or the
// gradient norm) asks for, each size growing with the shape it is given.
size_t scratch_bytes(const MemoryPlan& p) {
  const int N = p.batch * p.seq_len;
  return std::max({cuda::embedding_backward_scratch_bytes(p.batch, p.seq_len, p.width),
                   cuda::layernorm_backward_scratch_floats(N, p.width) * sizeof(float),
                   cuda::rmsnorm_backward_scratch_floats(N, p.width) * sizeof(float),
                   cuda::attention_backward_scratch_floats(p.batch, p.seq_len, p.heads) * sizeof(float),
                   (1 + cuda::sum_squares_scratch_doubles()) * sizeof(double)});
}

}  // namespace

template <class T>
struct CudaBackend<T>::State {
  int device = 0;
  std::string device_name;
  cudaStream_t stream = nullptr;
  std::unique_ptr<cuda::Matmul> matmul;
  // declared before `scratch`, which allocates from it
  DeviceMemory mem{device_alloc, [](void* p) { cudaFree(p); }};
  GrowingBuffer scratch{mem};

  float* scratch_floats(size_t n) {
    return static_cast<float*>(scratch.get(n * sizeof(float), stream));
  }
};

template <class T>
CudaBackend<T>::CudaBackend(int device, cuda::AttentionKernel attention)
    : s_(new State), attention_(attention) {
  std::string why;
  if (!cuda::cuda_device_available(&why)) throw std::runtime_error("CUDA backend: " + why);
  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count)
    throw std::runtime_error("CUDA backend: device " + std::to_string(device) + " requested, " +
                             std::to_string(count) + " visible");
  s_->device = device;
  CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  s_->device_name = prop.name;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s_->stream, cudaStreamNonBlocking));
  s_->matmul = std::make_unique<cuda::Matmul>();
}

template <class T>
CudaBackend<T>::~CudaBackend() {
  cudaStreamSynchronize(s_->stream);
  s_->matmul.reset();
  cudaStreamDestroy(s_->stream);
}

template <class T>
std::string CudaBackend<T>::name() const {
  return "cuda:" + std::to_string(s_->device) + " (" + s_->device_name + ")";
}
template <class T>
void CudaBackend<T>::reserve(const MemoryPlan& plan) {
  const size_t scratch = scratch_bytes(plan);
  const size_t total = plan.total() + Arena::rounded(scratch);
  size_t free_bytes = 0, device_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &device_bytes));
  if (total + kReserveHeadroom > free_bytes)
    // the caller adds what to lower: the trainer's batch keys, eval's --batch
    throw EnvironmentError(name() + ": the run needs " + mebibytes(total) + " of device memory (" +
                           plan.describe() + ", kernel scratch " + mebibytes(scratch) + ") and " +
                           mebibytes(kReserveHeadroom) + " left free for NCCL and CUDA, but " +
                           mebibytes(free_bytes) + " of " + mebibytes(device_bytes) + " are free");
  s_->mem.reserve(total);
  s_->scratch.get(scratch, s_->stream);
}
template <class T>
MemoryUse CudaBackend<T>::memory_use() const {
  MemoryUse u = s_->mem.use();
  u.workspace = cuda::Matmul::kDefaultWorkspaceBytes;
  return u;
}

template <class T>
void* CudaBackend<T>::stream_handle() const {
  return s_->stream;
}

template <class T>
double CudaBackend<T>::peak_flops() const {
  int sms = 0, khz = 0, major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, s_->device));
  const double clock_hz = double(khz) * 1e3;
  if constexpr (kMixedPrecision<T>) {
    // Dense bf16 tensor-core FLOP per clock per SM (fp32 accumulation), as NVIDIA's whitepapers
    // count them: 4096 on sm_90 (H100 SXM5: 132 SMs x 1830 MHz x 4096 = 989 TFLOP/s), 2048 on
    // sm_80 (A100: 108 SMs x 1410 MHz x 2048 = 312 TFLOP/s), 1024 on the other sm_8x (GA102
    // RTX A6000: 84 SMs x 1800 MHz x 1024 = 155 TFLOP/s). Later architectures are counted at
    // Hopper's rate, a lower bound that overstates their MFU; pre-Ampere GPUs have no bf16
    // tensor cores and cannot run this mode (the bf16 attention kernel needs sm_80).
    const int per_sm = major >= 9 ? 4096 : (major == 8 && minor == 0) ? 2048 : 1024;
    return double(sms) * per_sm * clock_hz;
  } else {
    // FP32 lanes per SM: 64 on sm_80 (A100), 128 on sm_86/89/90 and later (CUDA programming
    // guide, "Arithmetic Instructions" throughput table)
    const int lanes = (major == 8 && minor == 0) || major < 8 ? 64 : 128;
    return 2.0 * sms * lanes * clock_hz;  // an FMA is two FLOPs
  }
}

template <class T>
void* CudaBackend<T>::alloc_bytes(size_t bytes) {
  void* p = s_->mem.alloc(bytes);
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, s_->stream));
  return p;
}
template <class T>
void CudaBackend<T>::release(void* p) {
  if (!p) return;
  // the block hands the range out again, and work queued on any stream (NCCL's too) may still
  // use it; cudaFree waited for the whole device, and so does this (releases are rare: a larger
  // batch, a growing scratch, the end)
  CUDA_CHECK(cudaDeviceSynchronize());
  s_->mem.release(p);
}
template <class T>
void CudaBackend<T>::upload_bytes(void* dst, const void* host_src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));  // the host buffer may change right after
}
template <class T>
void CudaBackend<T>::download_bytes(void* host_dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));
}
template <class T>
void CudaBackend<T>::zero_bytes(void* p, size_t bytes) {
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, s_->stream));
}
template <class T>
void CudaBackend<T>::copy_bytes(void* dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s_->stream));
}

template <class T>
void CudaBackend<T>::embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe,
                                       int B, int Tn, int C, int pos_offset) {
  cuda::embedding_forward(dev(out), tokens, dev(wte), dev(wpe), B, Tn, C, pos_offset, s_->stream);
}
template <class T>
void CudaBackend<T>::embedding_backward(A* dwte, A* dwpe, const T* dout, const int32_t* tokens,
                                        int B, int Tn, int C, int pos_offset) {
  void* scratch = s_->scratch.get(cuda::embedding_backward_scratch_bytes(B, Tn, C), s_->stream);
  cuda::embedding_backward(dwte, dwpe, dev(dout), tokens, B, Tn, C, pos_offset, s_->stream,
                           scratch);
}

template <class T>
void CudaBackend<T>::layernorm_forward(T* out, A* mean, A* rstd, const T* inp, const T* weight,
                                       const T* bias, int N, int C, A eps) {
  cuda::layernorm_forward(dev(out), mean, rstd, dev(inp), dev(weight), dev(bias), N, C, eps,
                          s_->stream);
}
template <class T>
void CudaBackend<T>::layernorm_backward(T* dinp, A* dweight, A* dbias, const T* dout,
                                        const T* inp, const T* weight, const A* mean,
                                        const A* rstd, int N, int C) {
  float* scratch = s_->scratch_floats(cuda::layernorm_backward_scratch_floats(N, C));
  cuda::layernorm_backward(dev(dinp), dweight, dbias, dev(dout), dev(inp), dev(weight), mean,
                           rstd, N, C, s_->stream, scratch);
}
template <class T>
void CudaBackend<T>::rmsnorm_forward(T* out, A* rstd, const T* inp, const T* weight, int N, int C,
                                     A eps) {
  cuda::rmsnorm_forward(dev(out), rstd, dev(inp), dev(weight), N, C, eps, s_->stream);
}
template <class T>
void CudaBackend<T>::rmsnorm_backward(T* dinp, A* dweight, const T* dout, const T* inp,
                                      const T* weight, const A* rstd, int N, int C) {
  float* scratch = s_->scratch_floats(cuda::rmsnorm_backward_scratch_floats(N, C));
  cuda::rmsnorm_backward(dev(dinp), dweight, dev(dout), dev(inp), dev(weight), rstd, N, C,
                         s_->stream, scratch);
}
template <class T>
void CudaBackend<T>::residual_layernorm_forward(T* sum, T* out, A* mean, A* rstd, const T* a,
                                                const T* b, const T* weight, const T* bias, int N,
                                                int C, A eps) {
  cuda::residual_layernorm_forward(dev(sum), dev(out), mean, rstd, dev(a), dev(b), dev(weight),
                                   dev(bias), N, C, eps, s_->stream);
}
template <class T>
void CudaBackend<T>::residual_rmsnorm_forward(T* sum, T* out, A* rstd, const T* a, const T* b,
                                              const T* weight, int N, int C, A eps) {
  cuda::residual_rmsnorm_forward(dev(sum), dev(out), rstd, dev(a), dev(b), dev(weight), N, C, eps,
                                 s_->stream);
}

template <class T>
void CudaBackend<T>::matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N,
                                    int IC, int OC) {
  s_->matmul->forward(dev(out), dev(inp), dev(weight), dev(bias), N, IC, OC, s_->stream);
}
template <class T>
void CudaBackend<T>::matmul_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                                     const T* weight, int N, int IC, int OC) {
  s_->matmul->backward(dev(dinp), dweight, dbias, dev(dout), dev(inp), dev(weight), N, IC, OC,
                       s_->stream);
}

template <class T>
void CudaBackend<T>::matmul_gelu_backward(T* dpre, A* dweight, A* dbias, const T* dout,
                                          const T* inp, const T* pre, const T* weight, int N,
                                          int IC, int OC) {
  if constexpr (kMixedPrecision<T>) {
    s_->matmul->backward_gelu(dev(dpre), dweight, dbias, dev(dout), dev(inp), dev(pre),
                              dev(weight), N, IC, OC, s_->stream);
  } else {
    // fp32 keeps the GELU kernel for the reason matmul_gelu_forward does
    matmul_backward(dpre, dweight, dbias, dout, inp, weight, N, IC, OC);
    gelu_backward(dpre, dpre, pre, size_t(N) * size_t(IC));
  }
}

template <class T>
void CudaBackend<T>::matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight,
                                         const T* bias, int N, int IC, int OC) {
  if constexpr (kMixedPrecision<T>) {
    s_->matmul->forward_gelu(dev(out), dev(pre), dev(inp), dev(weight), dev(bias), N, IC, OC,
                             s_->stream);
  } else {
    // fp32 mode is the one compared with the CPU to 1e-4: cuBLASLt's GELU epilogue may use a
    // faster tanh (test_cuda_matmul allows it 5e-4 relative), so fp32 keeps the GELU kernel
    matmul_forward(pre, inp, weight, bias, N, IC, OC);
    gelu_forward(out, pre, size_t(N) * size_t(OC));
  }
}

template <class T>
void CudaBackend<T>::attention_forward(T* out, A* lse, const T* qkv, int B, int Tn, int H,
                                       int KVH, int hd) {
  cuda::attention_forward(attention_, dev(out), lse, dev(qkv), B, Tn, H, KVH, hd, s_->stream);
}
template <class T>
void CudaBackend<T>::attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out,
                                        const A* lse, int B, int Tn, int H, int KVH, int hd) {
  float* scratch = s_->scratch_floats(cuda::attention_backward_scratch_floats(B, Tn, H));
  cuda::attention_backward(attention_, dev(dqkv), dev(dout), dev(qkv), dev(out), lse, B, Tn, H,
                           KVH, hd, s_->stream, scratch);
}
template <class T>
void CudaBackend<T>::rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  cuda::rope_forward(dev(qkv), B, Tn, H, KVH, hd, theta, s_->stream);
}
template <class T>
void CudaBackend<T>::rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  cuda::rope_backward(dev(dqkv), B, Tn, H, KVH, hd, theta, s_->stream);
}
template <class T>
void CudaBackend<T>::rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                                     int pos0) {
  cuda::rope_forward_at(dev(qkv), B, Tn, H, KVH, hd, theta, pos0, s_->stream);
}
template <class T>
void CudaBackend<T>::attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B,
                                              int Tq, int Tk, int cap, int H, int KVH, int hd) {
  cuda::attention_cached_forward(dev(out), dev(k_cache), dev(v_cache), dev(qkv), B, Tq, Tk, cap, H,
                                 KVH, hd, s_->stream);
}

template <class T>
void CudaBackend<T>::gelu_forward(T* out, const T* inp, size_t n) {
  cuda::gelu_forward(dev(out), dev(inp), n, s_->stream);
}
template <class T>
void CudaBackend<T>::gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  cuda::gelu_backward(dev(dinp), dev(dout), dev(inp), n, s_->stream);
}
template <class T>
void CudaBackend<T>::relu_forward(T* out, const T* inp, size_t n) {
  cuda::relu_forward(dev(out), dev(inp), n, s_->stream);
}
template <class T>
void CudaBackend<T>::relu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  cuda::relu_backward(dev(dinp), dev(dout), dev(inp), n, s_->stream);
}
template <class T>
void CudaBackend<T>::swiglu_forward(T* out, const T* inp, int N, int F) {
  cuda::swiglu_forward(dev(out), dev(inp), N, F, s_->stream);
}
template <class T>
void CudaBackend<T>::swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) {
  cuda::swiglu_backward(dev(dinp), dev(dout), dev(inp), N, F, s_->stream);
}

template <class T>
void CudaBackend<T>::residual_forward(T* out, const T* a, const T* b, size_t n) {
  cuda::residual_forward(dev(out), dev(a), dev(b), n, s_->stream);
}
template <class T>
void CudaBackend<T>::accumulate(T* dst, const T* src, size_t n) {
  cuda::accumulate(dev(dst), dev(src), n, s_->stream);
}

template <class T>
void CudaBackend<T>::crossentropy_forward(A* losses, const T* logits, const int32_t* targets,
                                          int N, int V, int ld, int32_t ignore_index) {
  cuda::crossentropy_forward(losses, dev(logits), targets, N, V, ld, ignore_index, s_->stream);
}
template <class T>
void CudaBackend<T>::crossentropy_forward_backward(T* logits, A* losses, const int32_t* targets,
                                                   int N, int V, int ld, int32_t ignore_index,
                                                   A dloss_scale) {
  cuda::crossentropy_forward_backward(dev(logits), losses, targets, N, V, ld, ignore_index,
                                      dloss_scale, s_->stream);
}

template <class T>
void CudaBackend<T>::adamw_update(A* master, T* params, const A* grads, A* m, A* v, size_t n,
                                  const AdamWStep& step, size_t index_offset) {
  if constexpr (kMixedPrecision<T>) {
    if (params) {
      cuda::adamw_update_bf16<float>(master, dev(params), grads, m, v, n, step, step.round_seed,
                                     index_offset, s_->stream);
      return;
    }
  }
  cuda::adamw_update<float>(master, grads, m, v, n, step, s_->stream);
  if (params) narrow(params, master, n, step, index_offset);
}
template <class T>
void CudaBackend<T>::narrow(T* dst, const A* src, size_t n, const AdamWStep& step,
                            size_t index_offset) {
  if constexpr (kMixedPrecision<T>) {
    cuda::narrow_bf16(dev(dst), src, n, step, step.round_seed, index_offset, s_->stream);
  } else if (dst != src && n > 0) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, s_->stream));
  }
}
template <class T>
double CudaBackend<T>::sum_squares(const A* x, size_t n) {
  // the result, then the per-block partials, in the scratch (earlier kernels on the stream that
  // used it are done before these run)
  double* buf = static_cast<double*>(
      s_->scratch.get((1 + cuda::sum_squares_scratch_doubles()) * sizeof(double), s_->stream));
  cuda::sum_squares_device(buf, x, n, s_->stream, buf + 1);
  double host = 0.0;
  CUDA_CHECK(cudaMemcpyAsync(&host, buf, sizeof(double), cudaMemcpyDeviceToHost, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));
  return host;
}

template class CudaBackend<float>;
template class CudaBackend<bf16>;

}  // namespace merino

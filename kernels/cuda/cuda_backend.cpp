#include "kernels/cuda/cuda_backend.h"

#include <algorithm>
#include <unordered_map>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/matmul.cuh"
#include "kernels/cuda/norms.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/rope.cuh"

namespace merino {

// A device buffer that only grows: the kernels' scratch space, sized by the largest call seen.
class GrowingBuffer {
 public:
  ~GrowingBuffer() { cudaFree(p_); }
  void* get(size_t bytes, cudaStream_t stream) {
    if (bytes <= bytes_) return p_;
    CUDA_CHECK(cudaStreamSynchronize(stream));  // earlier kernels may still use the old one
    CUDA_CHECK(cudaFree(p_));
    p_ = nullptr;
    CUDA_CHECK(cudaMalloc(&p_, bytes));
    bytes_ = bytes;
    return p_;
  }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

struct CudaBackend::State {
  int device = 0;
  std::string device_name;
  cudaStream_t stream = nullptr;
  std::unique_ptr<cuda::Matmul> matmul;
  GrowingBuffer scratch;
  std::unordered_map<void*, size_t> sizes;  // live allocations, for peak_bytes()
  size_t live = 0, peak = 0;

  float* scratch_floats(size_t n) { return static_cast<float*>(scratch.get(n * sizeof(float), stream)); }
  void* raw(size_t bytes) {
    void* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(bytes, 1)));
    CUDA_CHECK(cudaMemsetAsync(p, 0, std::max<size_t>(bytes, 1), stream));
    sizes[p] = bytes;
    live += bytes;
    peak = std::max(peak, live);
    return p;
  }
};

CudaBackend::CudaBackend(int device) : s_(new State) {
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

CudaBackend::~CudaBackend() {
  cudaStreamSynchronize(s_->stream);
  s_->matmul.reset();
  for (auto& [p, bytes] : s_->sizes) cudaFree(p);
  cudaStreamDestroy(s_->stream);
}

std::string CudaBackend::name() const { return "cuda:" + std::to_string(s_->device) + " (" + s_->device_name + ")"; }
size_t CudaBackend::peak_bytes() const {
  return s_->peak + s_->scratch.bytes() + cuda::Matmul::kDefaultWorkspaceBytes;
}

void* CudaBackend::stream_handle() const { return s_->stream; }

double CudaBackend::peak_fp32_flops() const {
  int sms = 0, khz = 0, major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, s_->device));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, s_->device));
  // FP32 lanes per SM: 64 on sm_80 (A100), 128 on sm_86/89/90 and later (CUDA programming guide,
  // "Arithmetic Instructions" throughput table)
  const int lanes = (major == 8 && minor == 0) || major < 8 ? 64 : 128;
  return 2.0 * sms * lanes * double(khz) * 1e3;  // an FMA is two FLOPs
}

float* CudaBackend::alloc(size_t n) { return static_cast<float*>(s_->raw(n * sizeof(float))); }
int32_t* CudaBackend::alloc_index(size_t n) { return static_cast<int32_t*>(s_->raw(n * sizeof(int32_t))); }
void CudaBackend::release(void* p) {
  if (!p) return;
  auto it = s_->sizes.find(p);
  if (it == s_->sizes.end()) throw std::invalid_argument("CudaBackend::release: pointer not from this backend");
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));
  CUDA_CHECK(cudaFree(p));
  s_->live -= it->second;
  s_->sizes.erase(it);
}
void CudaBackend::upload(float* dst, const float* host_src, size_t n) {
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n * sizeof(float), cudaMemcpyHostToDevice, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));  // the host buffer may change right after
}
void CudaBackend::upload_index(int32_t* dst, const int32_t* host_src, size_t n) {
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n * sizeof(int32_t), cudaMemcpyHostToDevice, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));
}
void CudaBackend::download(float* host_dst, const float* src, size_t n) {
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, s_->stream));
  CUDA_CHECK(cudaStreamSynchronize(s_->stream));
}
void CudaBackend::zero(float* p, size_t n) {
  CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), s_->stream));
}

void CudaBackend::embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe,
                                    int B, int Tn, int C, int pos_offset) {
  cuda::embedding_forward(out, tokens, wte, wpe, B, Tn, C, pos_offset, s_->stream);
}
void CudaBackend::embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens,
                                     int B, int Tn, int C, int pos_offset) {
  void* scratch = s_->scratch.get(cuda::embedding_backward_scratch_bytes(B, Tn, C), s_->stream);
  cuda::embedding_backward(dwte, dwpe, dout, tokens, B, Tn, C, pos_offset, s_->stream, scratch);
}

void CudaBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                    const float* weight, const float* bias, int N, int C, float eps) {
  cuda::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps, s_->stream);
}
void CudaBackend::layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                                     const float* inp, const float* weight, const float* mean,
                                     const float* rstd, int N, int C) {
  float* scratch = s_->scratch_floats(cuda::layernorm_backward_scratch_floats(N, C));
  cuda::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, s_->stream, scratch);
}
void CudaBackend::rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N,
                                  int C, float eps) {
  cuda::rmsnorm_forward(out, rstd, inp, weight, N, C, eps, s_->stream);
}
void CudaBackend::rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                                   const float* weight, const float* rstd, int N, int C) {
  float* scratch = s_->scratch_floats(cuda::rmsnorm_backward_scratch_floats(N, C));
  cuda::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C, s_->stream, scratch);
}

void CudaBackend::matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                                 int N, int IC, int OC) {
  s_->matmul->forward(out, inp, weight, bias, N, IC, OC, s_->stream);
}
void CudaBackend::matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                                  const float* inp, const float* weight, int N, int IC, int OC) {
  s_->matmul->backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC, s_->stream);
}

void CudaBackend::attention_forward(float* out, float* lse, const float* qkv, int B, int Tn, int H,
                                    int KVH, int hd) {
  cuda::attention_forward(out, lse, qkv, B, Tn, H, KVH, hd, s_->stream);
}
void CudaBackend::attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                                     const float* lse, int B, int Tn, int H, int KVH, int hd) {
  float* scratch = s_->scratch_floats(cuda::attention_backward_scratch_floats(B, Tn, H));
  cuda::attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd, s_->stream, scratch);
}
void CudaBackend::rope_forward(float* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  cuda::rope_forward(qkv, B, Tn, H, KVH, hd, theta, s_->stream);
}
void CudaBackend::rope_backward(float* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  cuda::rope_backward(dqkv, B, Tn, H, KVH, hd, theta, s_->stream);
}

void CudaBackend::gelu_forward(float* out, const float* inp, size_t n) { cuda::gelu_forward(out, inp, n, s_->stream); }
void CudaBackend::gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
  cuda::gelu_backward(dinp, dout, inp, n, s_->stream);
}
void CudaBackend::relu_forward(float* out, const float* inp, size_t n) { cuda::relu_forward(out, inp, n, s_->stream); }
void CudaBackend::relu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
  cuda::relu_backward(dinp, dout, inp, n, s_->stream);
}
void CudaBackend::swiglu_forward(float* out, const float* inp, int N, int F) {
  cuda::swiglu_forward(out, inp, N, F, s_->stream);
}
void CudaBackend::swiglu_backward(float* dinp, const float* dout, const float* inp, int N, int F) {
  cuda::swiglu_backward(dinp, dout, inp, N, F, s_->stream);
}

void CudaBackend::residual_forward(float* out, const float* a, const float* b, size_t n) {
  cuda::residual_forward(out, a, b, n, s_->stream);
}
void CudaBackend::accumulate(float* dst, const float* src, size_t n) { cuda::accumulate(dst, src, n, s_->stream); }

void CudaBackend::crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N,
                                       int V, int32_t ignore_index) {
  cuda::crossentropy_forward(losses, logits, targets, N, V, ignore_index, s_->stream);
}
void CudaBackend::crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets,
                                                int N, int V, int32_t ignore_index, float dloss_scale) {
  cuda::crossentropy_forward_backward(logits, losses, targets, N, V, ignore_index, dloss_scale, s_->stream);
}

void CudaBackend::adamw_update(float* params, const float* grads, float* m, float* v, size_t n,
                               const AdamWStep& step) {
  cuda::adamw_update<float>(params, grads, m, v, n, step, s_->stream);
}
double CudaBackend::sum_squares(const float* x, size_t n) { return cuda::sum_squares(x, n, s_->stream); }

}  // namespace merino

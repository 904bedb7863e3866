// Naive element-wise reference kernels for bench_cuda_activation; see the header.
#include "bench/cuda_reference_elementwise.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace merino::bench {
namespace {

constexpr int kThreads = 256;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kGeluCubic = 0.044715f;

__device__ float to_f(float x) { return x; }
__device__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T>
__device__ T from_f(float x);
template <>
__device__ float from_f<float>(float x) {
  return x;
}
template <>
__device__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

__device__ size_t thread_index() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

unsigned blocks_for(size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ float gelu_s(float x) {
  return 1.0f / (1.0f + expf(-2.0f * kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
}

template <class T>
__global__ void gelu_forward_kernel(T* out, const T* inp, size_t n) {
  const size_t i = thread_index();
  if (i >= n) return;
  const float x = to_f(inp[i]);
  out[i] = from_f<T>(x * gelu_s(x));
}

template <class T>
__global__ void gelu_backward_kernel(T* dinp, const T* dout, const T* inp, size_t n) {
  const size_t i = thread_index();
  if (i >= n) return;
  const float x = to_f(inp[i]), s = gelu_s(x);
  const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
  dinp[i] = from_f<T>(to_f(dout[i]) * (s + 2.0f * x * s * (1.0f - s) * du));
}

template <class T>
__global__ void swiglu_forward_kernel(T* out, const T* inp, int N, int F) {
  const size_t i = thread_index();
  if (i >= static_cast<size_t>(N) * F) return;
  const size_t row = i / F, col = i % F;
  const float g = to_f(inp[row * 2 * F + col]), u = to_f(inp[row * 2 * F + F + col]);
  out[i] = from_f<T>(g / (1.0f + expf(-g)) * u);
}

template <class T>
__global__ void swiglu_backward_kernel(T* dinp, const T* dout, const T* inp, int N, int F) {
  const size_t i = thread_index();
  if (i >= static_cast<size_t>(N) * F) return;
  const size_t row = i / F, col = i % F;
  const float g = to_f(inp[row * 2 * F + col]), u = to_f(inp[row * 2 * F + F + col]);
  const float d = to_f(dout[i]), s = 1.0f / (1.0f + expf(-g));
  dinp[row * 2 * F + col] = from_f<T>(d * u * s * (1.0f + g * (1.0f - s)));
  dinp[row * 2 * F + F + col] = from_f<T>(d * g * s);
}

template <class T>
__global__ void add_kernel(T* out, const T* a, const T* b, size_t n) {
  const size_t i = thread_index();
  if (i < n) out[i] = from_f<T>(to_f(a[i]) + to_f(b[i]));
}

}  // namespace

template <class T>
void naive_gelu_forward(T* out, const T* inp, size_t n) {
  gelu_forward_kernel<T><<<blocks_for(n), kThreads>>>(out, inp, n);
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void naive_gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  gelu_backward_kernel<T><<<blocks_for(n), kThreads>>>(dinp, dout, inp, n);
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void naive_swiglu_forward(T* out, const T* inp, int N, int F) {
  swiglu_forward_kernel<T><<<blocks_for(static_cast<size_t>(N) * F), kThreads>>>(out, inp, N, F);
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void naive_swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) {
  swiglu_backward_kernel<T>
      <<<blocks_for(static_cast<size_t>(N) * F), kThreads>>>(dinp, dout, inp, N, F);
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void naive_residual_forward(T* out, const T* a, const T* b, size_t n) {
  add_kernel<T><<<blocks_for(n), kThreads>>>(out, a, b, n);
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void naive_accumulate(T* dst, const T* src, size_t n) {
  add_kernel<T><<<blocks_for(n), kThreads>>>(dst, dst, src, n);
  CUDA_CHECK(cudaGetLastError());
}

#define MERINO_INSTANTIATE_REFERENCE(T)                                     \
  template void naive_gelu_forward<T>(T*, const T*, size_t);                \
  template void naive_gelu_backward<T>(T*, const T*, const T*, size_t);     \
  template void naive_swiglu_forward<T>(T*, const T*, int, int);            \
  template void naive_swiglu_backward<T>(T*, const T*, const T*, int, int); \
  template void naive_residual_forward<T>(T*, const T*, const T*, size_t);  \
  template void naive_accumulate<T>(T*, const T*, size_t);

MERINO_INSTANTIATE_REFERENCE(float)
MERINO_INSTANTIATE_REFERENCE(__nv_bfloat16)

#undef MERINO_INSTANTIATE_REFERENCE

}  // namespace merino::bench

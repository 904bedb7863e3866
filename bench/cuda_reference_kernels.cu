// Naive reference kernels for bench_cuda_kernels; see cuda_reference_kernels.cuh.
#include "bench/cuda_reference_kernels.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace merino::bench {
namespace {

constexpr int kThreads = 128;

int blocks_for(size_t n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

// one thread per row; RMS = true: RMSNorm (no mean, no bias)
template <bool RMS>
__global__ void norm_forward_naive(float* out, float* mean, float* rstd, const float* inp,
                                   const float* weight, const float* bias, int N, int C,
                                   float eps) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= N) return;
  const float* x = inp + static_cast<size_t>(row) * C;
  float* y = out + static_cast<size_t>(row) * C;
  float m = 0.f;
  if (!RMS) {
    for (int i = 0; i < C; ++i) m += x[i];
    m /= C;
  }
  float v = 0.f;
  for (int i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
  const float r = 1.0f / sqrtf(v / C + eps);
  for (int i = 0; i < C; ++i) y[i] = (x[i] - m) * r * weight[i] + (!RMS && bias ? bias[i] : 0.f);
  if (!RMS) mean[row] = m;
  rstd[row] = r;
}

template <bool RMS>
__global__ void norm_backward_naive(float* dinp, float* dweight, float* dbias, const float* dout,
                                    const float* inp, const float* weight, const float* mean,
                                    const float* rstd, int N, int C) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  const float m = RMS ? 0.f : mean[row], r = rstd[row];
  float a = 0.f, b = 0.f;
  for (int i = 0; i < C; ++i) {
    const float dn = weight[i] * dout[off + i];
    a += dn;
    b += dn * (inp[off + i] - m) * r;
  }
  a = RMS ? 0.f : a / C;
  b /= C;
  for (int i = 0; i < C; ++i) {
    const float n = (inp[off + i] - m) * r;
    dinp[off + i] += (weight[i] * dout[off + i] - a - n * b) * r;
    atomicAdd(&dweight[i], dout[off + i] * n);
    if (!RMS && dbias) atomicAdd(&dbias[i], dout[off + i]);
  }
}

template <bool BACKWARD>
__global__ void crossentropy_naive(float* logits, float* losses, const int32_t* targets, int N,
                                   int V, int32_t ignore_index, float dloss_scale) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= N) return;
  float* x = logits + static_cast<size_t>(row) * V;
  const int32_t t = targets[row];
  if (t == ignore_index) {
    losses[row] = 0.f;
    if (BACKWARD) {
      for (int i = 0; i < V; ++i) x[i] = 0.f;
    }
    return;
  }
  float m = x[0];
  for (int i = 1; i < V; ++i) m = fmaxf(m, x[i]);
  float s = 0.f;
  for (int i = 0; i < V; ++i) s += expf(x[i] - m);
  losses[row] = logf(s) + m - x[t];
  if (BACKWARD) {
    for (int i = 0; i < V; ++i) x[i] = dloss_scale * (expf(x[i] - m) / s - (i == t ? 1.f : 0.f));
  }
}

}  // namespace

void naive_layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                             const float* weight, const float* bias, int N, int C, float eps) {
  norm_forward_naive<false><<<blocks_for(N), kThreads>>>(out, mean, rstd, inp, weight, bias, N, C,
                                                         eps);
  CUDA_CHECK(cudaGetLastError());
}

void naive_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                              const float* inp, const float* weight, const float* mean,
                              const float* rstd, int N, int C) {
  norm_backward_naive<false><<<blocks_for(N), kThreads>>>(dinp, dweight, dbias, dout, inp, weight,
                                                          mean, rstd, N, C);
  CUDA_CHECK(cudaGetLastError());
}

void naive_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N,
                           int C, float eps) {
  norm_forward_naive<true><<<blocks_for(N), kThreads>>>(out, nullptr, rstd, inp, weight, nullptr,
                                                        N, C, eps);
  CUDA_CHECK(cudaGetLastError());
}

void naive_rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                            const float* weight, const float* rstd, int N, int C) {
  norm_backward_naive<true><<<blocks_for(N), kThreads>>>(dinp, dweight, nullptr, dout, inp, weight,
                                                         nullptr, rstd, N, C);
  CUDA_CHECK(cudaGetLastError());
}

void naive_crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N,
                                int V, int32_t ignore_index) {
  crossentropy_naive<false><<<blocks_for(N), kThreads>>>(const_cast<float*>(logits), losses,
                                                         targets, N, V, ignore_index, 0.f);
  CUDA_CHECK(cudaGetLastError());
}

void naive_crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets,
                                         int N, int V, int32_t ignore_index, float dloss_scale) {
  crossentropy_naive<true><<<blocks_for(N), kThreads>>>(logits, losses, targets, N, V,
                                                        ignore_index, dloss_scale);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace merino::bench

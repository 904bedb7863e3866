// Attention over a KV cache on CUDA; CPU twin: kernels/cpu/attention_cached.cpp.
//
// Design: decoding reads every cached key and value once per generated token and does two
// multiply-adds per element read, so it is bound by memory bandwidth, not by FLOPs: a plain
// kernel that streams the cache with coalesced loads is the right shape (the tensor-core flash
// kernels of attention.cu / attention_v2.cu pay off only when many queries share each key).
// * append_kernel: one block per new token row copies its k and v heads into the cache.
// * attend_kernel: one block per (query, head, sequence). The query head is staged in shared
//   memory in fp32; each warp takes keys in turn, its lanes reading the key's hd elements
//   contiguously (coalesced) and reducing the dot product with shuffles; the block keeps the
//   whole score row in shared memory (Tk floats: 48 KiB holds ~12k keys, past any context we
//   train), reduces its max and its sum of exponentials, and finally each thread owns output
//   dimensions and sums p_j v_j over the keys, the reads of one key row again contiguous across
//   threads. The softmax uses expf (not __expf) so fp32 results stay within 1e-5 of the CPU.
// Grouped-query heads read their group's kv head; the cache holds only the KVH heads.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/attention_cached.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

namespace merino::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr size_t kMaxSmemBytes = 48 * 1024;

using vec::from_float;
using vec::to_float;
using vec::warp_max;
using vec::warp_sum;

template <class T>
__global__ void __launch_bounds__(kThreads)
    append_kernel(T* __restrict__ k_cache, T* __restrict__ v_cache, const T* __restrict__ qkv,
                  int Tq, int past, int cap, int H, int KVH, int hd) {
  const int row = blockIdx.x, b = row / Tq, i = row % Tq;
  const int ckv = KVH * hd;
  const T* src = qkv + int64_t(row) * (H + 2 * KVH) * hd + int64_t(H) * hd;
  const int64_t dst = (int64_t(b) * cap + past + i) * ckv;
  for (int c = threadIdx.x; c < ckv; c += kThreads) {
    k_cache[dst + c] = src[c];
    v_cache[dst + c] = src[ckv + c];
  }
}

// the block-wide reduction of one value per thread, returned to every thread
template <bool kMax>
__device__ float block_reduce(float x, float* red) {
  x = kMax ? warp_max(x) : warp_sum(x);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) red[warp] = x;
  __syncthreads();
  float r = red[0];
  for (int w = 1; w < kWarps; ++w) r = kMax ? fmaxf(r, red[w]) : r + red[w];
  __syncthreads();  // red is reused by the next reduction
  return r;
}

// grid (Tq, H, B)
template <class T>
__global__ void __launch_bounds__(kThreads)
    attend_kernel(T* __restrict__ out, const T* __restrict__ k_cache, const T* __restrict__ v_cache,
                  const T* __restrict__ qkv, int Tq, int Tk, int cap, int H, int KVH, int hd,
                  float scale) {
  extern __shared__ float smem[];  // q[hd], scores[Tk], red[kWarps]
  float* q = smem;
  float* p = smem + hd;
  float* red = p + Tk;
  const int i = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (H / KVH), ckv = KVH * hd;
  const int n = Tk - Tq + i + 1;  // keys this query sees
  const T* qrow = qkv + (int64_t(b) * Tq + i) * (H + 2 * KVH) * hd + int64_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += kThreads) q[d] = to_float(qrow[d]);
  __syncthreads();

  const T* K = k_cache + int64_t(b) * cap * ckv + int64_t(kvh) * hd;
  const T* V = v_cache + int64_t(b) * cap * ckv + int64_t(kvh) * hd;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int j = warp; j < n; j += kWarps) {
    const T* k = K + int64_t(j) * ckv;
    float s = 0.f;
    for (int d = lane; d < hd; d += 32) s += q[d] * to_float(k[d]);
    s = warp_sum(s);
    if (lane == 0) p[j] = s * scale;
  }
  __syncthreads();
  float mx = -FLT_MAX;
  for (int j = threadIdx.x; j < n; j += kThreads) mx = fmaxf(mx, p[j]);
  mx = block_reduce<true>(mx, red);
  float sum = 0.f;
  for (int j = threadIdx.x; j < n; j += kThreads) {
    const float e = expf(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  sum = block_reduce<false>(sum, red);  // its barrier also publishes p
  const float inv = 1.f / sum;
  T* o = out + (int64_t(b) * Tq + i) * H * hd + int64_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += kThreads) {
    float acc = 0.f;
    for (int j = 0; j < n; ++j) acc += p[j] * to_float(V[int64_t(j) * ckv + d]);
    o[d] = from_float<T>(acc * inv);
  }
}

}  // namespace

template <class T>
void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq, int Tk,
                              int cap, int H, int KVH, int hd, cudaStream_t stream) {
  if (B <= 0 || Tq <= 0) return;
  if (Tq > Tk || Tk > cap || KVH <= 0 || H % KVH != 0 || hd <= 0)
    throw std::runtime_error("attention_cached_forward: bad shape (Tq " + std::to_string(Tq) +
                             ", Tk " + std::to_string(Tk) + ", cap " + std::to_string(cap) +
                             ", H " + std::to_string(H) + ", KVH " + std::to_string(KVH) + ")");
  const size_t smem = (size_t(hd) + size_t(Tk) + kWarps) * sizeof(float);
  if (smem > kMaxSmemBytes)
    throw std::runtime_error("attention_cached_forward: " + std::to_string(Tk) +
                             " cached keys exceed one block's shared memory");
  append_kernel<T><<<static_cast<unsigned>(B * Tq), kThreads, 0, stream>>>(
      k_cache, v_cache, qkv, Tq, Tk - Tq, cap, H, KVH, hd);
  CUDA_CHECK(cudaGetLastError());
  const dim3 grid(static_cast<unsigned>(Tq), static_cast<unsigned>(H), static_cast<unsigned>(B));
  attend_kernel<T><<<grid, kThreads, smem, stream>>>(out, k_cache, v_cache, qkv, Tq, Tk, cap, H,
                                                     KVH, hd, float(1.0 / std::sqrt(double(hd))));
  CUDA_CHECK(cudaGetLastError());
}

template void attention_cached_forward<float>(float*, float*, float*, const float*, int, int, int,
                                              int, int, int, int, cudaStream_t);
template void attention_cached_forward<__nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*,
                                                      __nv_bfloat16*, const __nv_bfloat16*, int,
                                                      int, int, int, int, int, int, cudaStream_t);

}  // namespace merino::cuda

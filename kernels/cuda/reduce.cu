// Deterministic sum of squares (global gradient norm) on CUDA; CPU twin: cpu::sum_squares in
// kernels/cpu/adamw.cpp.
//
// Design: the classic two-pass tree reduction (as in CUB's device reduce or llm.c's global-norm
// kernel), arranged so the summation order is a function of n alone:
// * Pass 1: a grid of min(1024, ceil(chunks / 256)) blocks -- fixed by n, never by the GPU's SM
//   count -- where thread t of the grid owns the 16-byte chunks t, t + G, t + 2G, ... (G = grid
//   threads) and accumulates their squares in order. Each block reduces its threads' sums with
//   warp shuffles and one shared-memory step in a fixed tree and writes its partial.
// * Pass 2: one block sums the <= 1024 partials with the same fixed tree. No float atomics, so
//   the result is bitwise reproducible run to run and across GPUs; with a single block pass 1
//   writes the result directly.
// * Loads are 128-bit when the buffer is 16-byte aligned, otherwise the same chunk is read one
//   element at a time: the chunk-to-thread assignment and the order of additions are identical
//   either way, so the result does not depend on the buffer's alignment either. Chunks run past
//   n are padded with zeros (adding +0.0 to a non-negative sum changes no bits). Four chunks are
//   loaded before any is added, to keep several 128-bit loads in flight per thread.
// * Accumulation is in double, like the CPU twin: the square of a float is exact in double, so
//   the only rounding is in the additions, and the sum of ~1e8 squares keeps ~1e-13 relative
//   accuracy (float would lose ~4 digits). FP64 throughput is far above what this memory-bound
//   loop needs on sm_80/sm_90.
// * The result stays on the device, so the clip factor (grad_clip_scale) and the AdamW update
//   that consumes it need no host synchronisation; sum_squares() is the synchronous wrapper
//   the Backend interface wants.
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/vec.cuh"

#include <algorithm>
#include <cstdint>

namespace merino::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;  // also the thread count of the final one-block pass
constexpr int kUnroll = 4;

template <class T>
struct Chunk {
  static constexpr int kElems = 16 / sizeof(T);  // 4 floats or 8 bf16 per 16-byte chunk
};

// the kElems values of chunk c (zeros past n)
template <class T>
__device__ __forceinline__ void load_chunk(float (&out)[Chunk<T>::kElems], const T* x, size_t c,
                                           size_t n, bool vec) {
  constexpr int E = Chunk<T>::kElems;
  const size_t base = c * E;
  if (vec && base + E <= n) {
    const uint4 w = *reinterpret_cast<const uint4*>(x + base);
    const T* e = reinterpret_cast<const T*>(&w);
#pragma unroll
    for (int j = 0; j < E; ++j) out[j] = vec::to_float(e[j]);
  } else {
#pragma unroll
    for (int j = 0; j < E; ++j) out[j] = base + j < n ? vec::to_float(x[base + j]) : 0.0f;
  }
}

// sum over the block in a fixed tree; the total is valid in thread 0
template <int kBlock>
__device__ __forceinline__ double block_sum(double v) {
  static_assert(kBlock % kWarp == 0 && kBlock / kWarp <= kWarp, "block shape");
  __shared__ double warp_sums[kBlock / kWarp];
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kBlock / kWarp ? warp_sums[lane] : 0.0;
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  }
  return v;
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    sumsq_partial_kernel(double* __restrict__ partial, const T* __restrict__ x, size_t n,
                         bool vec) {
  constexpr int E = Chunk<T>::kElems;
  const size_t chunks = (n + E - 1) / E;
  const size_t stride = size_t(gridDim.x) * kThreads;
  double acc = 0.0;
  for (size_t c = size_t(blockIdx.x) * kThreads + threadIdx.x; c < chunks;
       c += kUnroll * stride) {
    float v[kUnroll][E];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) load_chunk<T>(v[u], x, c + u * stride, n, vec);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int j = 0; j < E; ++j) acc += double(v[u][j]) * double(v[u][j]);
    }
  }
  acc = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void __launch_bounds__(kMaxBlocks)
    sumsq_final_kernel(double* __restrict__ result, const double* __restrict__ partial,
                       int count) {
  const double v = block_sum<kMaxBlocks>(int(threadIdx.x) < count ? partial[threadIdx.x] : 0.0);
  if (threadIdx.x == 0) *result = v;
}

__global__ void clip_scale_kernel(float* scale, const double* sum_sq, double max_norm) {
  // the trainer's host formula (train/trainer.cpp), in the same double operations
  const double norm = sqrt(*sum_sq);
  *scale = max_norm > 0 && norm > max_norm ? static_cast<float>(max_norm / norm) : 1.0f;
}

}  // namespace

size_t sum_squares_scratch_doubles() { return kMaxBlocks; }

template <class T>
void sum_squares_device(double* result, const T* x, size_t n, cudaStream_t stream,
                        double* scratch) {
  constexpr int E = Chunk<T>::kElems;
  const size_t chunks = (n + E - 1) / E;
  const int blocks = static_cast<int>(
      std::max<size_t>(1, std::min<size_t>(kMaxBlocks, (chunks + kThreads - 1) / kThreads)));
  const bool vec = reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (blocks == 1) {
    sumsq_partial_kernel<T><<<1, kThreads, 0, stream>>>(result, x, n, vec);
    CUDA_CHECK(cudaGetLastError());
    return;
  }
  const bool own = scratch == nullptr;
  if (own) {
    CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&scratch), kMaxBlocks * sizeof(double),
                               stream));
  }
  sumsq_partial_kernel<T><<<blocks, kThreads, 0, stream>>>(scratch, x, n, vec);
  CUDA_CHECK(cudaGetLastError());
  sumsq_final_kernel<<<1, kMaxBlocks, 0, stream>>>(result, scratch, blocks);
  CUDA_CHECK(cudaGetLastError());
  if (own) CUDA_CHECK(cudaFreeAsync(scratch, stream));
}

template <class T>
double sum_squares(const T* x, size_t n, cudaStream_t stream) {
  double* buf = nullptr;  // the result, then the partials
  CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buf), (1 + kMaxBlocks) * sizeof(double),
                             stream));
  sum_squares_device(buf, x, n, stream, buf + 1);
  double host = 0.0;
  CUDA_CHECK(cudaMemcpyAsync(&host, buf, sizeof(double), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaFreeAsync(buf, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

void grad_clip_scale(float* scale, const double* sum_sq, double max_norm, cudaStream_t stream) {
  clip_scale_kernel<<<1, 1, 0, stream>>>(scale, sum_sq, max_norm);
  CUDA_CHECK(cudaGetLastError());
}

template void sum_squares_device<float>(double*, const float*, size_t, cudaStream_t, double*);
template void sum_squares_device<__nv_bfloat16>(double*, const __nv_bfloat16*, size_t,
                                                cudaStream_t, double*);
template double sum_squares<float>(const float*, size_t, cudaStream_t);
template double sum_squares<__nv_bfloat16>(const __nv_bfloat16*, size_t, cudaStream_t);

}  // namespace merino::cuda

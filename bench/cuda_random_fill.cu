// Hash-based device fills for benchmark inputs; see the header.
#include "bench/cuda_random_fill.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace merino::bench {
namespace {

__device__ uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

__device__ void store(float* p, float x) { *p = x; }
__device__ void store(__nv_bfloat16* p, float x) { *p = __float2bfloat16_rn(x); }

__device__ size_t grid_stride() { return static_cast<size_t>(gridDim.x) * blockDim.x; }
__device__ size_t first_index() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

template <class T>
__global__ void fill_kernel(T* p, size_t n, uint32_t seed, float lo, float hi) {
  for (size_t i = first_index(); i < n; i += grid_stride()) {
    const uint32_t h =
        hash32(static_cast<uint32_t>(i) ^ hash32(seed + static_cast<uint32_t>(i >> 32)));
    store(p + i, lo + (hi - lo) * static_cast<float>(h >> 8) * (1.0f / 16777216.0f));
  }
}

__global__ void fill_targets_kernel(int32_t* p, size_t n, uint32_t seed, int32_t V) {
  for (size_t i = first_index(); i < n; i += grid_stride())
    p[i] = static_cast<int32_t>(hash32(static_cast<uint32_t>(i) ^ hash32(seed)) % V);
}

}  // namespace

template <class T>
void fill_random(T* p, size_t n, uint32_t seed, float lo, float hi) {
  fill_kernel<T><<<1024, 256>>>(p, n, seed, lo, hi);
  CUDA_CHECK(cudaGetLastError());
}

template void fill_random<float>(float*, size_t, uint32_t, float, float);
template void fill_random<__nv_bfloat16>(__nv_bfloat16*, size_t, uint32_t, float, float);

void fill_targets(int32_t* p, size_t n, uint32_t seed, int32_t V) {
  fill_targets_kernel<<<64, 256>>>(p, n, seed, V);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace merino::bench

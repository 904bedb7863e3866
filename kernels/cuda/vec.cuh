// Device helpers shared by the kernels of kernels/cuda: the one fp32 <-> T conversion (T =
// float or __nv_bfloat16; host code rounds with kernels/bf16.h), 16-byte vector access,
// in-register reductions of a vector and warp-shuffle reductions. Memory-bound kernels move the
// most bytes per instruction with one 128-bit load or store per thread (4 floats or 8 bf16), the
// "Packed128" idea of llm.c. CUDA-only header: include it from .cu files.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace merino::cuda::vec {

// Element to fp32 (exact) and fp32 to element (bf16: round to nearest even).
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Elements of T in one 16-byte pack.
template <class T>
constexpr int kPack = 16 / static_cast<int>(sizeof(T));

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// V consecutive elements at p into fp32 registers: one 128-bit load when V fills a pack (the
// caller guarantees 16-byte alignment), a scalar load when V == 1.
template <class T, int V>
__device__ __forceinline__ void load(const T* p, float (&f)[V]) {
  if constexpr (V == kPack<T>) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int k = 0; k < V; ++k) f[k] = to_float(e[k]);
  } else {
    static_assert(V == 1, "a vector is either one element or one 16-byte pack");
    f[0] = to_float(*p);
  }
}

// V fp32 values rounded to T and stored at p, as load.
template <class T, int V>
__device__ __forceinline__ void store(T* p, const float (&f)[V]) {
  if constexpr (V == kPack<T>) {
    uint4 raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int k = 0; k < V; ++k) e[k] = from_float<T>(f[k]);
    *reinterpret_cast<uint4*>(p) = raw;
  } else {
    static_assert(V == 1, "a vector is either one element or one 16-byte pack");
    *p = from_float<T>(f[0]);
  }
}

// The V values of a pack reduced as a balanced tree, op(op(v0, v1), op(v2, v3)) ...: a fixed
// order, shorter dependency chains than a serial loop. V is a power of two.
template <int V, class Op>
__device__ __forceinline__ float tree_reduce(const float (&v)[V], Op op) {
  float t[V];
#pragma unroll
  for (int k = 0; k < V; ++k) t[k] = v[k];
#pragma unroll
  for (int w = V / 2; w > 0; w /= 2) {
#pragma unroll
    for (int k = 0; k < w; ++k) t[k] = op(t[2 * k], t[2 * k + 1]);
  }
  return t[0];
}
template <int V>
__device__ __forceinline__ float tree_sum(const float (&v)[V]) {
  return tree_reduce(v, [](float a, float b) { return a + b; });
}
template <int V>
__device__ __forceinline__ float tree_max(const float (&v)[V]) {
  return tree_reduce(v, [](float a, float b) { return fmaxf(a, b); });
}

// Reductions over groups of Lanes consecutive lanes (32: the whole warp; 16: a half warp) by a
// butterfly of xor shuffles: every lane of a group ends with the same bits. Every lane of the
// warp must call them (full mask).
template <int Lanes = 32>
__device__ __forceinline__ float warp_sum(float v) {
  static_assert(Lanes >= 2 && Lanes <= 32 && (Lanes & (Lanes - 1)) == 0, "a power of two");
  for (int o = Lanes / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <int Lanes = 32>
__device__ __forceinline__ float warp_max(float v) {
  static_assert(Lanes >= 2 && Lanes <= 32 && (Lanes & (Lanes - 1)) == 0, "a power of two");
  for (int o = Lanes / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace merino::cuda::vec

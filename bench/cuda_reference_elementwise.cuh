// Naive CUDA reference kernels ("variant 0", as in llm.c's dev/cuda) that bench_cuda_activation
// times in the same run as merino's element-wise kernels (variant 1): one thread per element,
// scalar loads and stores, same fp32 formulas. A speed baseline only; correctness of the real
// kernels is checked in tests/cuda. Also a device-side random fill for fp32 / bf16 benchmark
// inputs and device arrays filled by it, shared with bench_cuda_matmul.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "bench/cuda_bench_util.h"

namespace merino::bench {

template <class T>
void naive_gelu_forward(T* out, const T* inp, size_t n);
template <class T>
void naive_gelu_backward(T* dinp, const T* dout, const T* inp, size_t n);
template <class T>
void naive_swiglu_forward(T* out, const T* inp, int N, int F);
template <class T>
void naive_swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F);
template <class T>
void naive_residual_forward(T* out, const T* a, const T* b, size_t n);
template <class T>
void naive_accumulate(T* dst, const T* src, size_t n);

// p[i] = uniform in [lo, hi) from a hash of (seed, i), rounded to T; deterministic
template <class T>
void fill_random(T* p, size_t n, uint32_t seed, float lo, float hi);

// A device array of n values from fill_random.
template <class T>
class RandomArray : public DeviceArray<T> {
 public:
  RandomArray(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) : DeviceArray<T>(n) {
    fill_random<T>(this->get(), n, seed, lo, hi);
  }
};

}  // namespace merino::bench

// Naive CUDA reference kernels ("variant 0", as in llm.c's dev/cuda) that bench_cuda_activation
// times in the same run as merino's element-wise kernels (variant 1): one thread per element,
// scalar loads and stores, same fp32 formulas. A speed baseline only; correctness of the real
// kernels is checked in tests/cuda.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>


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

}  // namespace merino::bench

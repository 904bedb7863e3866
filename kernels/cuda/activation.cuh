// Element-wise MLP activations (GELU tanh-approx, ReLU, SwiGLU), residual add and gradient
// accumulation on CUDA. Same semantics and argument order as kernels/cpu/activation.h and
// kernels/cpu/elementwise.h, with device pointers and a stream appended:
//   * every activation forward and backward WRITES (=) its output; only accumulate adds (+=);
//   * out may alias any input (every element is read and written by the same thread), so
//     accumulate(dst, src) is residual_forward(dst, dst, src).
// T is float or __nv_bfloat16 (math in fp32, one rounding to T per output). Launchers are
// asynchronous on `stream`, do nothing for empty tensors, and throw std::runtime_error on launch
// errors. Design notes at the top of activation.cu.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace merino::cuda {

// out = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)   (= 0.5 x (1 + tanh u))
template <class T>
void gelu_forward(T* out, const T* inp, size_t n, cudaStream_t stream = 0);
// dinp = dout * gelu'(inp)
template <class T>
void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n, cudaStream_t stream = 0);

template <class T>
void relu_forward(T* out, const T* inp, size_t n, cudaStream_t stream = 0);
// dinp = inp > 0 ? dout : 0
template <class T>
void relu_backward(T* dinp, const T* dout, const T* inp, size_t n, cudaStream_t stream = 0);

// inp rows are [gate (F) | up (F)]; out[N, F] = silu(gate) * up
template <class T>
void swiglu_forward(T* out, const T* inp, int N, int F, cudaStream_t stream = 0);
// dinp[N, 2F] = (dgate | dup)
template <class T>
void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F, cudaStream_t stream = 0);

// out = a + b
template <class T>
void residual_forward(T* out, const T* a, const T* b, size_t n, cudaStream_t stream = 0);
// dst += src
template <class T>
void accumulate(T* dst, const T* src, size_t n, cudaStream_t stream = 0);

}  // namespace merino::cuda

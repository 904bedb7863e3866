// Pointwise MLP activations, CPU reference: GELU (tanh approximation, as GPT-2), ReLU (OPT)
// and SwiGLU (LLaMA / MobileLLM). Backward writes (=) into a fresh gradient buffer.
#pragma once
#include <cstddef>

namespace merino::cpu {

template <class T>
void gelu_forward(T* out, const T* inp, size_t n);
template <class T>
void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n);

template <class T>
void relu_forward(T* out, const T* inp, size_t n);
template <class T>
void relu_backward(T* dinp, const T* dout, const T* inp, size_t n);

// inp rows are [gate (F) | up (F)], the output of the fused gate_proj/up_proj matmul;
// out[N, F] = silu(gate) * up
template <class T>
void swiglu_forward(T* out, const T* inp, int N, int F);
// dinp[N, 2F] = (dgate | dup)
template <class T>
void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F);

}  // namespace merino::cpu

// Linear layer y = x W^T + b with W stored [out, in] (PyTorch nn.Linear layout), CPU reference
// on OpenBLAS gemm. Backward writes dinp (=): its consumer is always a fresh buffer. It
// accumulates dweight and dbias (+=): weights are shared between layers (MeRino, MobileLLM-LS),
// tied with the embedding, and gradients add up over micro-batches.
#pragma once

namespace merino::cpu {

// out[N, OC] = inp[N, IC] * weight[OC, IC]^T + bias[OC]   (bias may be null)
template <class T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC, int OC);

// dinp[N, IC] = dout * weight (skipped when dinp is null); dweight += dout^T * inp;
// dbias += column sums of dout (skipped when dbias is null)
template <class T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int IC, int OC);

}  // namespace merino::cpu

// Causal grouped-query attention on CUDA, FlashAttention-2 style (design notes at the top of
// attention.cu, v1, and attention_v2.cu, v2). Same semantics and argument order as kernels/cpu/attention.h, with device
// pointers and a stream appended:
//   qkv rows [B, T, (H + 2 KVH) hd] = [q heads | k heads | v heads]; query head h uses kv head
//   h / (H / KVH); scores scaled by 1/sqrt(hd); causal.
//   forward writes (=) out[B, T, H hd] and lse[B, H, T] = log sum_j exp(score_ij);
//   backward writes (=) all of dqkv[B, T, (H + 2 KVH) hd], the k/v parts summed over the
//   query heads of each group.
// T is float (fp32 throughout) or __nv_bfloat16 (bf16 in memory, fp32 softmax and accumulation,
// tensor-core products). lse is fp32 for both: it is 1/hd the size of out, and in bf16 its
// rounding (~0.4% of a value near log T) would scale every recomputed probability of a row by
// up to ~3% in backward.
// hd must be a multiple of 16 from 32 to 128: 32, 48, 64, 80, 96, 112 or 128
// (std::invalid_argument naming that set otherwise); H % KVH == 0; any T >= 0 (T or B = 0 is a
// no-op). bf16 needs sm_80 or newer. Launchers are asynchronous on `stream` and throw
// std::runtime_error on launch errors. Backward is deterministic (no atomics): two calls on the
// same inputs give the same bits.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/cuda/attention_kernel.h"

namespace merino::cuda {

template <class T>
void attention_forward(T* out, float* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd,
                       cudaStream_t stream = 0);

// `scratch` (device, at least attention_backward_scratch_floats(B, Tn, H) floats) holds
// D = rowsum(dout * out) per (batch, head, position); when null it is taken with
// cudaMallocAsync and returned with cudaFreeAsync on `stream`.
template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                        int B, int Tn, int H, int KVH, int hd, cudaStream_t stream = 0,
                        float* scratch = nullptr);
size_t attention_backward_scratch_floats(int B, int Tn, int H);

// Version 2 (attention_v2.cu): the same contract, bf16 on mma.sync / ldmatrix / cp.async with
// scores kept in registers (FlashAttention-2's design); fp32 calls run v1's fp32 kernels. The
// backward scratch is the same size.
template <class T>
void attention_forward_v2(T* out, float* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd,
                          cudaStream_t stream = 0);
template <class T>
void attention_backward_v2(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                           int B, int Tn, int H, int KVH, int hd, cudaStream_t stream = 0,
                           float* scratch = nullptr);

// The version `kernel` names (attention_kernel.h).
template <class T>
void attention_forward(AttentionKernel kernel, T* out, float* lse, const T* qkv, int B, int Tn,
                       int H, int KVH, int hd, cudaStream_t stream = 0) {
  if (kernel == AttentionKernel::v2) {
    attention_forward_v2(out, lse, qkv, B, Tn, H, KVH, hd, stream);
  } else {
    attention_forward(out, lse, qkv, B, Tn, H, KVH, hd, stream);
  }
}

template <class T>
void attention_backward(AttentionKernel kernel, T* dqkv, const T* dout, const T* qkv,
                        const T* out, const float* lse, int B, int Tn, int H, int KVH, int hd,
                        cudaStream_t stream = 0, float* scratch = nullptr) {
  if (kernel == AttentionKernel::v2) {
    attention_backward_v2(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd, stream, scratch);
  } else {
    attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd, stream, scratch);
  }
}

}  // namespace merino::cuda

// Rotary position embedding on the q and k heads of a packed qkv buffer, in place, CUDA. Same
// semantics and argument order as kernels/cpu/rope.h: rows [B*T, (H + 2*KVH) * hd], pairs
// (i, i + hd/2) of each q and k head rotated by t * theta^(-2i/hd) for the row's position t;
// v heads untouched; backward applies the inverse rotation to the gradient. Device pointers and
// a stream appended; T = float or __nv_bfloat16 (fp32 arithmetic, one rounding per element).
// Design notes at the top of rope.cu. Launchers are asynchronous and throw std::runtime_error
// on launch errors.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace merino::cuda {

template <class T>
void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                  cudaStream_t stream = 0);

// row t of each sequence at position pos0 + t (decoding after pos0 cached tokens)
template <class T>
void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, int pos0,
                     cudaStream_t stream = 0);

template <class T>
void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta,
                   cudaStream_t stream = 0);

}  // namespace merino::cuda

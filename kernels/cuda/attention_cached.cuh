// Attention of Tq new tokens over a key/value cache (incremental decoding), CUDA. Same
// semantics and argument order as kernels/cpu/attention_cached.h (Backend::
// attention_cached_forward): the new tokens' k and v, read from the packed rows qkv[B, Tq,
// (H + 2 KVH) hd], are written to cache rows Tk - Tq .. Tk - 1 of k_cache, v_cache [B, cap,
// KVH hd], then query i attends to cached keys 0 .. Tk - Tq + i; out[B, Tq, H hd]. Device
// pointers and a stream appended; T = float or __nv_bfloat16 (fp32 arithmetic, out rounded
// once). Design notes at the top of attention_cached.cu. Asynchronous; throws
// std::runtime_error when Tk keys do not fit one block's score row, or on launch errors.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace merino::cuda {

template <class T>
void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq, int Tk,
                              int cap, int H, int KVH, int hd, cudaStream_t stream = 0);

}  // namespace merino::cuda

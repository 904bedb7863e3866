// Fused softmax + cross-entropy, CUDA. Same semantics and argument order as
// kernels/cpu/crossentropy.h, with device pointers and a stream appended. Design notes at the
// top of crossentropy.cu. T (the logits, and the gradient written over them) is float or
// __nv_bfloat16; losses are fp32 and all arithmetic is fp32 for both. Launchers are
// asynchronous on `stream` and throw std::runtime_error on launch errors.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace merino::cuda {

// losses[N] = -log softmax(logits)[target] over the first V of each row's ld columns (0 for
// ignored rows); logits untouched
template <class T>
void crossentropy_forward(float* losses, const T* logits, const int32_t* targets, int N, int V,
                          int ld, int32_t ignore_index, cudaStream_t stream = 0);

// as above, and logits[N, ld] is overwritten in place by dloss_scale * (softmax - onehot(target)),
// zero in columns V..ld-1; ignored rows get loss 0 and an all-zero gradient row
template <class T>
void crossentropy_forward_backward(T* logits, float* losses, const int32_t* targets, int N, int V,
                                   int ld, int32_t ignore_index, float dloss_scale,
                                   cudaStream_t stream = 0);

}  // namespace merino::cuda

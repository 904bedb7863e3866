// Fused softmax + cross-entropy, fp32, CUDA. Same semantics and argument order as
// kernels/cpu/crossentropy.h, with device pointers and a stream appended. Design notes at the
// top of crossentropy.cu. Launchers are asynchronous on `stream` and throw std::runtime_error
// on launch errors.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace merino::cuda {

// losses[N] = -log softmax(logits)[target] (0 for ignored rows); logits untouched
void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N,
                          int V, int32_t ignore_index, cudaStream_t stream = 0);

// as above, and logits[N, V] is overwritten in place by dloss_scale * (softmax - onehot(target));
// ignored rows get loss 0 and an all-zero gradient row
void crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets, int N,
                                   int V, int32_t ignore_index, float dloss_scale,
                                   cudaStream_t stream = 0);

}  // namespace merino::cuda

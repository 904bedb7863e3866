// Naive CUDA reference kernels ("variant 0", in the spirit of llm.c's dev/cuda numbered
// variants) that bench_cuda_kernels times in the same run as merino's kernels (variant 1):
// one thread per row, plain scalar loads, float atomics for the parameter gradients. They are
// a speed baseline only; correctness of the real kernels is checked in tests/cuda.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace merino::bench {

void naive_layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                             const float* weight, const float* bias, int N, int C, float eps);
void naive_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                              const float* inp, const float* weight, const float* mean,
                              const float* rstd, int N, int C);
void naive_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N,
                           int C, float eps);
void naive_rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                            const float* weight, const float* rstd, int N, int C);
void naive_crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N,
                                int V, int32_t ignore_index);
void naive_crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets,
                                         int N, int V, int32_t ignore_index, float dloss_scale);

}  // namespace merino::bench

// LayerNorm and RMSNorm, fp32, CUDA. Same semantics and argument order as kernels/cpu/norms.h
// (forward writes out / mean / rstd; backward ACCUMULATES += into dinp, dweight, dbias), with
// device pointers and a stream appended. Design notes at the top of norms.cu.
// All launchers are asynchronous on `stream` and throw std::runtime_error on launch errors.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace merino::cuda {

// out = (inp - mean) * rstd * weight + bias   (bias may be null; mean, rstd: [N], may be null)
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps, cudaStream_t stream = 0);

// dinp += ..., dweight += ..., dbias += ... (dbias may be null).
// `scratch` (device, at least layernorm_backward_scratch_floats(N, C) floats) holds the
// per-block partial sums of dweight/dbias; when null it is taken with cudaMallocAsync and
// returned with cudaFreeAsync on `stream`.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean,
                        const float* rstd, int N, int C, cudaStream_t stream = 0,
                        float* scratch = nullptr);
size_t layernorm_backward_scratch_floats(int N, int C);

// out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps); rstd: [N], may be null
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                     float eps, cudaStream_t stream = 0);

// dinp += ..., dweight += ...; scratch as for layernorm_backward
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C,
                      cudaStream_t stream = 0, float* scratch = nullptr);
size_t rmsnorm_backward_scratch_floats(int N, int C);

}  // namespace merino::cuda

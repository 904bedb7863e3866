// LayerNorm and RMSNorm, alone and fused with the residual add before them, CUDA. Same semantics
// and argument order as kernels/cpu/norms.h (forward writes out / mean / rstd; backward
// ACCUMULATES += into dinp, dweight, dbias), with device pointers and a stream appended; the
// fused forms are the Backend ops of the same names. Design notes at the top of norms.cu.
// T (out, inp, weight, bias, dout, dinp) is float or __nv_bfloat16; the row statistics mean /
// rstd and the parameter gradients dweight / dbias are fp32 for both, and all arithmetic is
// fp32 (bf16 values are widened on load and rounded once per stored element).
// All launchers are asynchronous on `stream` and throw std::runtime_error on launch errors.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace merino::cuda {

// out = (inp - mean) * rstd * weight + bias   (bias may be null; mean, rstd: [N], may be null)
template <class T>
void layernorm_forward(T* out, float* mean, float* rstd, const T* inp, const T* weight,
                       const T* bias, int N, int C, float eps, cudaStream_t stream = 0);

// How backward reduces its per-block partial sums into dweight / dbias. kSplit (the default):
// slices of the partials are summed by parallel blocks, then the slices in order; kSinglePass:
// the earlier single pass over 2 C / 32 column blocks, kept so bench_cuda_kernels can compare.
// Both are deterministic; they differ only in the order of the float additions.
enum class NormReduce { kSplit, kSinglePass };

// dinp += ..., dweight += ..., dbias += ... (dbias may be null).
// `scratch` (device, at least layernorm_backward_scratch_floats(N, C) floats) holds the
// per-block partial sums of dweight/dbias; when null it is taken with cudaMallocAsync and
// returned with cudaFreeAsync on `stream`.
template <class T>
void layernorm_backward(T* dinp, float* dweight, float* dbias, const T* dout, const T* inp,
                        const T* weight, const float* mean, const float* rstd, int N, int C,
                        cudaStream_t stream = 0, float* scratch = nullptr,
                        NormReduce reduce = NormReduce::kSplit);
size_t layernorm_backward_scratch_floats(int N, int C);

// out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps); rstd: [N], may be null
template <class T>
void rmsnorm_forward(T* out, float* rstd, const T* inp, const T* weight, int N, int C, float eps,
                     cudaStream_t stream = 0);

// dinp += ..., dweight += ...; scratch as for layernorm_backward
template <class T>
void rmsnorm_backward(T* dinp, float* dweight, const T* dout, const T* inp, const T* weight,
                      const float* rstd, int N, int C, cudaStream_t stream = 0,
                      float* scratch = nullptr, NormReduce reduce = NormReduce::kSplit);
size_t rmsnorm_backward_scratch_floats(int N, int C);

// The residual add fused with the norm after it: sum = a + b (as residual_forward), then out,
// mean, rstd = layernorm_forward / rmsnorm_forward of sum as stored in T -- bitwise the results
// of those two launches, reading each row from DRAM once. sum may alias a or b (in place);
// out must not alias any of them.
template <class T>
void residual_layernorm_forward(T* sum, T* out, float* mean, float* rstd, const T* a, const T* b,
                                const T* weight, const T* bias, int N, int C, float eps,
                                cudaStream_t stream = 0);
template <class T>
void residual_rmsnorm_forward(T* sum, T* out, float* rstd, const T* a, const T* b,
                              const T* weight, int N, int C, float eps, cudaStream_t stream = 0);

}  // namespace merino::cuda

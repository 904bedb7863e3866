// Sum of squares over a flat buffer (the global gradient norm for clipping), CUDA. Same meaning
// as kernels/cpu/adamw.h's sum_squares: sum of x^2 accumulated in double, with a summation order
// that depends only on n -- deterministic run to run, across GPUs, and whatever the pointer's
// alignment. Design notes at the top of reduce.cu. T = float or __nv_bfloat16.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace merino::cuda {

// *result (device) = sum of x[i]^2. Asynchronous. `scratch` (device, at least
// sum_squares_scratch_doubles() doubles) holds the per-block partial sums; when null it is
// taken with cudaMallocAsync and returned with cudaFreeAsync on `stream`.
template <class T>
void sum_squares_device(double* result, const T* x, size_t n, cudaStream_t stream = 0,
                        double* scratch = nullptr);
size_t sum_squares_scratch_doubles();

// Backend::sum_squares: the same sum returned to the host (synchronises `stream`).
template <class T>
double sum_squares(const T* x, size_t n, cudaStream_t stream = 0);

// *scale (device) = the trainer's clip factor for global-norm clipping at max_norm, from the
// device-side sum of squares: max_norm / sqrt(*sum_sq) when max_norm > 0 and the norm exceeds
// it, else 1 (computed in double, rounded to float). Feed it to adamw_update's grad_scale_dev.
void grad_clip_scale(float* scale, const double* sum_sq, double max_norm, cudaStream_t stream = 0);

}  // namespace merino::cuda

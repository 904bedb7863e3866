// Fused AdamW over a flat parameter range, CUDA: fp32 master weights and fp32 moments, gradients
// fp32 or bf16. Same formula and argument order as kernels/cpu/adamw.h (params, m, v updated in
// place), with device pointers and a stream appended. Design notes at the top of adamw.cu.
// Launchers are asynchronous on `stream` and throw std::runtime_error on launch errors.
//
// Gradient scale: the effective scale is step.grad_scale, times *grad_scale_dev when that device
// pointer is non-null (e.g. the clip factor written by grad_clip_scale in reduce.cuh), so a
// clipped step needs no host synchronisation.
//
// Stochastic rounding (adamw_update_bf16): the bf16 working copy of parameter i is the updated
// fp32 value rounded to bf16 up or down at random, rounding up with probability equal to the
// fraction of the way the value lies to the next bf16 (so E[round(x)] = x, and values already
// representable in bf16 come out exact). The randomness is a counter-based hash of
// (seed, step.step, index_offset + i): reproducible run to run and across GPUs, independent of
// the launch configuration, and different every step. The bit-level rule is
// bf16_stochastic_round_bits in kernels/bf16.h, shared with the host so tests can reproduce it
// exactly; narrow_bf16 applies the same rounding to fp32 values without an update.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/adamw_step.h"
#include "kernels/bf16.h"

namespace merino::cuda {

using merino::AdamWStep;

// p, m, v updated in place for n elements; G = float or __nv_bfloat16
template <class G>
void adamw_update(float* params, const G* grads, float* m, float* v, size_t n,
                  const AdamWStep& step, cudaStream_t stream = 0,
                  const float* grad_scale_dev = nullptr);

// as adamw_update, and also params_bf16[i] = stochastic bf16 rounding of the new params[i].
// index_offset: the range's offset in the model's flat parameter buffer, so every parameter
// draws from its own stream however the buffer is split into ranges.
template <class G>
void adamw_update_bf16(float* params, __nv_bfloat16* params_bf16, const G* grads, float* m,
                       float* v, size_t n, const AdamWStep& step, uint64_t seed,
                       uint64_t index_offset = 0, cudaStream_t stream = 0,
                       const float* grad_scale_dev = nullptr);

// dst[i] = the stochastic bf16 rounding of src[i] with the stream of (seed, step.step) and index
// index_offset + i: the very bits adamw_update_bf16 writes for that step when its fp32 result is
// src. Backend::narrow: the working copy of master weights that did not come out of an AdamW
// step (initialisation, a loaded checkpoint).
void narrow_bf16(__nv_bfloat16* dst, const float* src, size_t n, const AdamWStep& step,
                 uint64_t seed, uint64_t index_offset = 0, cudaStream_t stream = 0);

// the rounding rule shared with the host (kernels/bf16.h), so tests can reproduce it exactly
using merino::bf16_stochastic_round_bits;
using merino::mix64;
using merino::stochastic_round_key;

}  // namespace merino::cuda

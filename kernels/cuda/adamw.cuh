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
// bf16_stochastic_round_bits below, shared with the host so tests can reproduce it exactly.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/adamw_step.h"

// the rounding helpers below compile for the device under nvcc and for the host everywhere
#ifndef MERINO_HOST_DEVICE
#if defined(__CUDACC__)
#define MERINO_HOST_DEVICE __host__ __device__
#else
#define MERINO_HOST_DEVICE
#endif
#endif

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

// SplitMix64's output function (Steele, Lea & Flood 2014; constants from Vigna's splitmix64.c):
// a bijection on 64-bit words whose output bits all depend on all input bits.
MERINO_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// per-step key of the rounding stream; element i then uses mix64(key + i), distinct for
// distinct i because mix64 is a bijection
MERINO_HOST_DEVICE inline uint64_t stochastic_round_key(uint64_t seed, int64_t step) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(step) + 0x9e3779b97f4a7c15ull));
}

// Bits of the bf16 stochastic rounding of x: add 16 random bits below the bf16 mantissa and
// truncate. A value whose low 16 bits are L rounds up (away from zero) with probability
// L / 65536, exactly its distance to the lower neighbour in bf16 ulps, so the rounding is
// unbiased; L = 0 (representable values, zeros, infinities) never carries, so it is exact.
// NaN stays a quiet NaN (the carry could otherwise turn it into infinity). Values within half
// a bf16 ulp of FLT_MAX may round up to infinity, as round-to-nearest would.
MERINO_HOST_DEVICE inline uint16_t bf16_stochastic_round_bits(float x, uint64_t key,
                                                              uint64_t index) {
  uint32_t u;
  memcpy(&u, &x, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  const uint32_t r = static_cast<uint32_t>(mix64(key + index) >> 48);
  return static_cast<uint16_t>((u + r) >> 16);
}

}  // namespace merino::cuda

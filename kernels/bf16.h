// bfloat16 on the host, and the precision each parameter type trains in.
// bf16 is the top half of an IEEE float (8-bit exponent, 7-bit mantissa), bit-compatible with
// CUDA's __nv_bfloat16, so a host array of bf16 can be copied to and from the device as is.
// A Backend<bf16> trains in mixed precision: parameters and activations in bf16, and everything
// that is summed over many steps or elements in fp32 (acc_t): gradients, master weights, the
// AdamW moments, norm statistics, attention log-sum-exps and losses. For float and double,
// acc_t<T> is T and there is no separate master copy.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/host_device.h"
#include "base/splitmix.h"

namespace merino {

struct bf16 {
  uint16_t bits = 0;
};
static_assert(sizeof(bf16) == 2, "bf16 must be two bytes, like __nv_bfloat16");

inline float to_float(bf16 x) {
  const uint32_t u = uint32_t(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Round to nearest, ties to even (what __float2bfloat16_rn does); NaN stays a quiet NaN.
inline bf16 bf16_round_nearest(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((u >> 16) | 0x0040u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{uint16_t(u >> 16)};
}

template <class T>
struct Precision {
  using Acc = T;
};
template <>
struct Precision<bf16> {
  using Acc = float;
};
// the type gradients, master weights, optimizer state and statistics are kept in
template <class T>
using acc_t = typename Precision<T>::Acc;
// true when parameters have a separate fp32 master copy
template <class T>
constexpr bool kMixedPrecision = !std::is_same_v<T, acc_t<T>>;

// per-step key of the rounding stream; element i then uses mix64(key + i), distinct for
// distinct i because mix64 is a bijection
MERINO_HOST_DEVICE inline uint64_t stochastic_round_key(uint64_t seed, int64_t step) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(step) + kSplitMix64Gamma));
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

}  // namespace merino

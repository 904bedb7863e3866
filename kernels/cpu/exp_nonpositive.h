// e^x for x <= 0 in a branch-free form that vectorises, for the loops that exponentiate a whole
// vocabulary row (the training loss, kernels/cpu/crossentropy.cpp; the zero-shot scorer,
// eval/vocab_log_softmax.cpp): a scalar libm call per term was a quarter of a CPU training step
// and half of the scorer's time.
//
// Cody and Waite's range reduction, x = n ln2 + r with |r| <= ln2 / 2 and ln2 split in two so
// that n ln2 is exact, then e^r by its Taylor polynomial (degree 13 in double, truncation below
// 1e-17 relative; degree 7 in float, below 6e-9) and 2^n written into the exponent bits: within
// a few ulp of std::exp (tests/kernels/test_exp_nonpositive.cpp). Neither form uses FMA, so a
// build with and without AVX2 gives the same bits. The float form's final select vectorises
// only where the compiler may evaluate both sides, -fno-trapping-math (set on the files that
// call it in a loop; it changes no result, only permits the speculation).
#pragma once
#include <cstdint>
#include <cstring>

namespace merino {

// Below -708 (where e^x nears the smallest normal double) about 3e-308 rather than a denormal or
// 0: immaterial in a sum of terms whose largest is 1.
inline double exp_nonpositive(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  // adding 1.5 * 2^52 rounds to an integer, which then sits in the low mantissa bits
  constexpr double kRound = 0x1.8p52;
  constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;  // 43 significant bits: n * kLn2Hi is exact
  constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
  x = x < -708.0 ? -708.0 : x;
  const double k = x * kLog2e + kRound;
  const double n = k - kRound;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // Horner from r^13 / 13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // k's low bits hold n (two's complement): shifted into the exponent field and biased they
  // make 2^n, a normal double for n >= -1022 (x >= -708 gives n >= -1022)
  uint64_t bits;
  std::memcpy(&bits, &k, sizeof bits);
  bits = (bits << 52) + (uint64_t(1023) << 52);
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// 0 below -87.3365 (e^x under the smallest normal float, 2^-126), where std::exp gives a
// denormal of at most 1.2e-38.
inline float exp_nonpositive(float x) {
  constexpr float kMin = -87.33654f;  // ln 2^-126
  constexpr float kLog2e = 1.44269504f;
  constexpr float kRound = 0x1.8p23f;  // 1.5 * 2^23, as kRound above
  constexpr float kLn2Hi = 0x1.62e4p-1f;  // 15 significant bits: n * kLn2Hi is exact for |n| < 512
  constexpr float kLn2Lo = 0x1.7f7d1cp-20f;
  const float xc = x < kMin ? kMin : x;
  const float k = xc * kLog2e + kRound;
  const float n = k - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;  // Horner from r^7 / 7!
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t bits;  // 2^n from n's low bits, as above (n >= -126: a normal float)
  std::memcpy(&bits, &k, sizeof bits);
  bits = (bits << 23) + (uint32_t(127) << 23);
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float y = p * scale;  // computed before the select, which then vectorises as a blend
  return x < kMin ? 0.0f : y;
}

}  // namespace merino

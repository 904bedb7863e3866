// Test support for CUDA kernels templated on float and __nv_bfloat16, on top of
// cuda_test_util.h: tests registered once per element type (GoogleTest typed suites over
// ElementTypes, or TEST_FP32_AND_BF16), rounding to T, the bounds of an output stored as T, and
// seeded random tensors held both as T and as the exact values of those T.
#pragma once
#include <cstddef>
#include <type_traits>
#include <random>
#include <vector>

#include "tests/cuda/cuda_test_util.h"

// check<T> runs as two tests, Suite.<Name>Fp32 and Suite.<Name>Bf16, each skipped without a
// device.
#define TEST_FP32_AND_BF16(Suite, Name, check) \
  TEST(Suite, Name##Fp32) {                    \
    REQUIRE_CUDA_DEVICE();                     \
    check<float>();                            \
  }                                            \
  TEST(Suite, Name##Bf16) {                    \
    REQUIRE_CUDA_DEVICE();                     \
    check<merino::testing::bf16>();            \
  }

namespace merino::testing {

// x rounded to T (round to nearest even, as the kernels' stores)
template <class T>
T round_to(double x);
template <>
inline float round_to<float>(double x) {
  return static_cast<float>(x);
}
template <>
inline bf16 round_to<bf16>(double x) {
  return to_bf16(static_cast<float>(x));
}

template <class T>
const char* type_name();
template <>
inline const char* type_name<float>() {
  return "fp32";
}
template <>
inline const char* type_name<bf16>() {
  return "bf16";
}

// A host tensor: values of type T and their exact values as Exact (double, or float for the
// fp32 CPU twins: a float or bf16 value is exact in either), the CPU reference's input.
template <class T, class Exact = double>
struct HostTensor {
  std::vector<T> t;
  std::vector<Exact> d;
};

template <class T, class Exact = double>
HostTensor<T, Exact> random_tensor(size_t n, std::mt19937& rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  HostTensor<T, Exact> h;
  h.t.resize(n);
  h.d.resize(n);
  for (size_t i = 0; i < n; ++i) {
    h.t[i] = round_to<T>(dist(rng));
    h.d[i] = static_cast<Exact>(to_double(h.t[i]));
  }
  return h;
}

template <class T>
constexpr bool kIsBf16 = std::is_same_v<T, bf16>;

// The element types of a typed suite: TYPED_TEST_SUITE(Suite, ElementTypes). GoogleTest names
// its tests Suite/0.Test (fp32) and Suite/1.Test (bf16), CTest <exe>.Suite.Test<float> and
// <exe>.Suite.Test<__nv_bfloat16> (no name generator: CMake's test discovery expects the index).
using ElementTypes = ::testing::Types<float, bf16>;

// Bounds of an output stored as T, from the fp32 bounds of the same output. bf16 is the fp32
// value rounded to nearest once more: bf16 keeps 8 significant bits, so that moves it by at most
// 2^-8 = 3.9e-3 of its magnitude; kBf16Rtol = 4e-3 covers it plus fp32 relative bounds up to
// ~1e-5 (carried through the rounding), and the absolute bound doubles to leave room for its
// own rounding. A formula applied to the wrong (unrounded, or twice rounded) values, or a missed
// +=, is off by far more than one bf16 rounding.
constexpr double kBf16Rtol = 4e-3;
template <class T>
double stored_atol(double fp32_atol) {
  return kIsBf16<T> ? 2 * fp32_atol : fp32_atol;
}
template <class T>
double stored_rtol(double fp32_rtol) {
  return kIsBf16<T> ? kBf16Rtol : fp32_rtol;
}

}  // namespace merino::testing

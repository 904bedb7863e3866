// Test support for CUDA kernels templated on float and __nv_bfloat16 (test_cuda_matmul.cpp,
// test_cuda_activation.cpp), on top of cuda_test_util.h: a test registered once per element
// type, rounding to T, and seeded random tensors held both as T and as the exact double values
// of those T.
#pragma once
#include <cstddef>
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
  return __float2bfloat16_rn(static_cast<float>(x));
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

// A host tensor: values of type T and their exact values in double (the CPU reference's input).
template <class T>
struct HostTensor {
  std::vector<T> t;
  Doubles d;
};

template <class T>
HostTensor<T> random_tensor(size_t n, std::mt19937& rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  HostTensor<T> h;
  h.t.resize(n);
  h.d.resize(n);
  for (size_t i = 0; i < n; ++i) {
    h.t[i] = round_to<T>(dist(rng));
    h.d[i] = to_double(h.t[i]);
  }
  return h;
}

}  // namespace merino::testing

// Harness shared by the CUDA kernel tests (tests/cuda/test_cuda_*.cpp): the guard that makes a
// test report SKIPPED without a device, seeded uniform inputs, fp32 / bf16 conversions (those of
// kernels/bf16.h) and bit views, an owning device buffer that can hand out deliberately
// misaligned pointers, and element-wise comparisons that refuse to pass vacuously. Host-only
// code. mixed_precision_testing.h adds the helpers of the tests templated on the element type.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/cuda/cuda_check.cuh"

// Every GPU test starts with this: without a usable device it reports SKIPPED, never passes.
#define REQUIRE_CUDA_DEVICE()                          \
  do {                                                 \
    std::string why_;                                  \
    if (!merino::cuda::cuda_device_available(&why_)) { \
      GTEST_SKIP() << "no CUDA device: " << why_;      \
    }                                                  \
  } while (0)

namespace merino::testing {

using bf16 = __nv_bfloat16;
using Floats = std::vector<float>;
using Doubles = std::vector<double>;

// n values uniform in [lo, hi), drawn in float from rng: a test's seed fixes its inputs.
inline Floats uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
// The device type's bits as the host bf16 of kernels/bf16.h (the same layout), and back: host
// rounding and widening are that header's.
inline uint16_t bits_of(bf16 b) { return static_cast<__nv_bfloat16_raw>(b).x; }
inline merino::bf16 host_bf16(bf16 b) { return merino::bf16{bits_of(b)}; }
inline bf16 device_bf16(merino::bf16 h) {
  __nv_bfloat16_raw raw;
  raw.x = h.bits;
  return bf16(raw);
}
inline float bf16_bits_to_float(uint16_t u) { return merino::to_float(merino::bf16{u}); }

// exact value of an element as float / double (what the CPU reference computes on)
inline float as_float(float x) { return x; }
inline float as_float(bf16 x) { return merino::to_float(host_bf16(x)); }
inline double to_double(float x) { return x; }
inline double to_double(bf16 x) { return as_float(x); }

// rounded to nearest even, as the kernels' stores
inline bf16 to_bf16(float x) { return device_bf16(merino::bf16_round_nearest(x)); }
inline std::vector<bf16> to_bf16(const Floats& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = to_bf16(v[i]);
  return out;
}
// exact
template <class T>
Floats to_float(const std::vector<T>& v) {
  Floats out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = as_float(v[i]);
  return out;
}
// the values a bf16 tensor holds after storing v (rounded to nearest even), widened exactly
inline Floats round_bf16(const Floats& v) { return to_float(to_bf16(v)); }

// fp32 unit roundoff u = 2^-24 (Higham's u: one rounding moves a value by at most u of itself)
constexpr double kU = 1.0 / (1 << 24);

// Owning device buffer of n elements; offset > 0 hands out a pointer `offset` elements into the
// allocation, which for offset = 1 is 2- or 4-byte aligned: the kernels' unaligned paths.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n, size_t offset = 0) : n_(n), offset_(offset) {
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&base_), (n + offset + 1) * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host, size_t offset = 0)
      : DeviceBuffer(host.size(), offset) {
    upload(host);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(base_); }
  T* get() const { return base_ + offset_; }
  void upload(const std::vector<T>& host) {
    CUDA_CHECK(cudaMemcpy(get(), host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    CUDA_CHECK(cudaDeviceSynchronize());  // kernels are asynchronous; surface their errors here
    std::vector<T> host(n_);
    CUDA_CHECK(cudaMemcpy(host.data(), get(), n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  Doubles download_doubles() const {
    const std::vector<T> h = download();
    Doubles d(h.size());
    for (size_t i = 0; i < h.size(); ++i) d[i] = to_double(h[i]);
    return d;
  }

 private:
  T* base_ = nullptr;
  size_t n_, offset_;
};

// Every element: |got - ref| <= bound[i]. Reports the worst element relative to its bound and
// the first few failures. Refuses to pass vacuously: the arrays must be non-empty and ref not
// all zero.
inline void expect_within(const std::string& what, const Doubles& got, const Doubles& ref,
                          const Doubles& bound) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  ASSERT_EQ(bound.size(), ref.size()) << what;
  ASSERT_FALSE(ref.empty()) << what;
  double worst = 0.0, ref_max = 0.0;
  size_t worst_i = 0;
  int failures = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]);
    ref_max = std::max(ref_max, std::fabs(ref[i]));
    const double used =
        std::isfinite(got[i]) ? (bound[i] > 0 ? err / bound[i] : err * 1e300) : INFINITY;
    if (used > worst) {
      worst = used;
      worst_i = i;
    }
    if (!(err <= bound[i])) {
      if (++failures <= 5) {
        ADD_FAILURE() << what << "[" << i << "]: gpu " << got[i] << " vs cpu " << ref[i]
                      << " (|diff| " << err << " > bound " << bound[i] << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << ref.size()
                         << " elements out of tolerance; worst at " << worst_i << " (" << worst
                         << " of its bound)";
  EXPECT_GT(ref_max, 0.0) << what << ": reference is all zero, the comparison proves nothing";
}

// float results, compared in double (every float is exact there)
inline void expect_within(const std::string& what, const Floats& got, const Floats& ref,
                          const Doubles& bound) {
  expect_within(what, Doubles(got.begin(), got.end()), Doubles(ref.begin(), ref.end()), bound);
}

// |got - ref| <= atol + rtol |ref| element-wise
inline void expect_close(const std::string& what, const Doubles& got, const Doubles& ref,
                         double atol, double rtol) {
  Doubles bound(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) bound[i] = atol + rtol * std::fabs(ref[i]);
  expect_within(what, got, ref, bound);
}

inline void expect_close(const std::string& what, const Floats& got, const Floats& ref,
                         double atol, double rtol) {
  expect_close(what, Doubles(got.begin(), got.end()), Doubles(ref.begin(), ref.end()), atol,
               rtol);
}

// Same bits in every element (tells -0 from +0 and compares NaNs); reports the count and the
// first difference. Refuses to pass on empty arrays.
inline void expect_bitwise_equal(const std::string& what, const Floats& a, const Floats& b) {
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_FALSE(a.empty()) << what;
  size_t diff = 0, first = a.size();
  for (size_t i = 0; i < a.size(); ++i) {
    if (float_bits(a[i]) != float_bits(b[i])) {
      if (diff++ == 0) first = i;
    }
  }
  EXPECT_EQ(diff, 0u) << what << ": " << diff << " of " << a.size() << " differ, first at "
                      << first << " (" << (first < a.size() ? a[first] : 0.f) << " vs "
                      << (first < a.size() ? b[first] : 0.f) << ")";
}

}  // namespace merino::testing

// Test support for CUDA kernels templated on float and __nv_bfloat16 (test_cuda_matmul.cpp,
// test_cuda_activation.cpp): host conversions, seeded random tensors held both as T and as the
// exact double values of those T, an owning device buffer that can hand out deliberately
// misaligned pointers, and an element-wise comparison with a per-element bound that refuses to
// pass vacuously. Host-only code: cuda_bf16.h's conversions work in host-compiled .cpp files.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

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
using Doubles = std::vector<double>;

inline double to_double(float x) { return x; }
inline double to_double(bf16 x) { return static_cast<double>(__bfloat162float(x)); }

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

template <class T>
std::vector<float> as_floats(const std::vector<T>& v) {
  std::vector<float> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = static_cast<float>(to_double(v[i]));
  return f;
}

// Owning device buffer of n elements; offset > 0 hands out a pointer `offset` elements into the
// allocation, which for offset = 1 is 2- or 4-byte aligned: the kernels' unaligned paths.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n, size_t offset = 0) : n_(n), offset_(offset) {
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&base_), (n + offset + 1) * sizeof(T)));
  }
  DeviceBuffer(const std::vector<T>& host, size_t offset = 0) : DeviceBuffer(host.size(), offset) {
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

// |got - ref| <= atol + rtol |ref| element-wise
inline void expect_close(const std::string& what, const Doubles& got, const Doubles& ref,
                         double atol, double rtol) {
  Doubles bound(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) bound[i] = atol + rtol * std::fabs(ref[i]);
  expect_within(what, got, ref, bound);
}

}  // namespace merino::testing

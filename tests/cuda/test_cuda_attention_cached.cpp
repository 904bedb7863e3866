// CUDA attention over a KV cache (kernels/cuda/attention_cached.cuh) against its CPU twin
// (kernels/cpu/attention_cached.h) on seeded random inputs: decode steps (Tq = 1) and short
// chunks (Tq = 3) after 0, 1 and 300 cached tokens, head sizes 32, 64, 80 and 128, GQA groups of
// 3, plain MHA and multi-query; fp32 and bf16. Without a device every test reports SKIPPED.
//
// The cache rows the op appends are copies and must match bit for bit; rows past the appended
// ones start as NaN on the device, so reading one would poison out. Tolerances
// (|gpu - cpu| <= atol + rtol |cpu|): fp32 1e-5 + 1e-4 |cpu| (both sides in float; the sums
// differ in order, expf within a few ulp: the reasoning of test_cuda_attention.cpp); bf16 the
// inputs are the same bf16 values on both sides and only out is rounded, so one bf16 ulp
// (2^-7 relative) plus 1e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/attention_cached.h"
#include "kernels/cuda/attention_cached.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;  // NOLINT: the test harness

struct Case {
  int B, Tq, past, cap, H, KVH, hd;
  int C3() const { return (H + 2 * KVH) * hd; }
};

std::string name(const Case& c) {
  return "B" + std::to_string(c.B) + " Tq" + std::to_string(c.Tq) + " past" +
         std::to_string(c.past) + " H" + std::to_string(c.H) + "/" + std::to_string(c.KVH) + " hd" +
         std::to_string(c.hd);
}

const Case kCases[] = {
    {2, 1, 0, 8, 6, 2, 32},      {2, 1, 1, 8, 6, 6, 64}, {2, 3, 300, 320, 6, 2, 64},
    {1, 1, 300, 304, 4, 1, 128}, {3, 3, 1, 8, 6, 3, 80}, {2, 1, 300, 301, 6, 6, 32},
};

// the kernel for one element type against the fp32 CPU twin, on inputs exact in T
template <class T>
void check(const Case& c, double atol, double rtol, uint32_t seed) {
  SCOPED_TRACE(name(c));
  std::mt19937 rng(seed);
  const size_t nq = size_t(c.B) * c.Tq * c.C3(), no = size_t(c.B) * c.Tq * c.H * c.hd;
  const size_t nc = size_t(c.B) * c.cap * c.KVH * c.hd;
  auto exact = [](const Floats& x) {
    if constexpr (std::is_same_v<T, float>)
      return x;
    else
      return to_float(to_bf16(x));
  };
  auto device = [](const Floats& x) {
    if constexpr (std::is_same_v<T, float>)
      return x;
    else
      return to_bf16(x);
  };
  const Floats qkv = exact(uniform(nq, rng, -2.f, 2.f));
  // cached rows [0, past) random, the rest NaN on the device (the CPU never reads them)
  Floats k0 = exact(uniform(nc, rng, -2.f, 2.f)), v0 = exact(uniform(nc, rng, -2.f, 2.f));
  for (int b = 0; b < c.B; ++b)
    for (size_t i = (size_t(b) * c.cap + c.past) * c.KVH * c.hd;
         i < size_t(b + 1) * c.cap * c.KVH * c.hd; ++i)
      k0[i] = v0[i] = std::numeric_limits<float>::quiet_NaN();
  Floats rk = k0, rv = v0, rout(no);
  merino::cpu::attention_cached_forward(rout.data(), rk.data(), rv.data(), qkv.data(), c.B, c.Tq,
                                        c.past + c.Tq, c.cap, c.H, c.KVH, c.hd);
  DeviceBuffer<T> dq(device(qkv)), dk(device(k0)), dv(device(v0));
  DeviceBuffer<T> dout(device(Floats(no, std::numeric_limits<float>::quiet_NaN())));
  merino::cuda::attention_cached_forward(dout.get(), dk.get(), dv.get(), dq.get(), c.B, c.Tq,
                                         c.past + c.Tq, c.cap, c.H, c.KVH, c.hd);
  expect_close("out", to_float(dout.download()), rout, atol, rtol);
  expect_bitwise_equal("k cache", to_float(dk.download()), exact(rk));
  expect_bitwise_equal("v cache", to_float(dv.download()), exact(rv));
}

TEST(AttentionCached, Fp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 70;
  for (const Case& c : kCases) check<float>(c, 1e-5, 1e-4, seed++);
}

TEST(AttentionCached, Bf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 80;
  for (const Case& c : kCases) check<bf16>(c, 1e-3, 0x1p-7, seed++);
}

}  // namespace

// Fused AdamW (kernels/cuda/adamw.cu) against its CPU twin in kernels/cpu/adamw.h, on seeded
// random inputs with odd sizes (n = 1, 3, 7, a prime above the 4-wide vector split) and offset
// pointers (the peeled and the scalar fallback); the device-side clip chain (reduce.cu's sum of
// squares and clip factor feeding AdamW) against the trainer's host formula; narrow_bf16 (the
// stochastic rounding alone) against the host rule. Every GPU test first checks for a device and
// reports SKIPPED (never passes) without one. The StochasticRoundingRule tests check the host
// copy of the rounding rule and need no device.
//
// Tolerances.
// * AdamW: the kernel performs the CPU twin's float operations in the same order with
//   non-contractible intrinsics, and both use IEEE-exact sqrt and division, so the results are
//   expected to be bit-identical. The bound allows 4 ulps (rtol 4 * 2^-23 ~ 4.8e-7) plus a tiny
//   absolute term for moments near zero, so a host build that contracts a*b+c into an FMA (one
//   rounding fewer per step, <= 1 ulp per operation, 3 steps) still passes while any formula or
//   indexing error (relative error >= 1e-3) fails.
// * clip factor: max_norm / norm in double rounded to float; the GPU norm differs from the CPU's
//   by < 1e-9 relative (the sum of squares' bound, derived in test_cuda_reduce.cpp), so the
//   floats agree to 1 ulp (rtol 2^-23).
#include <gtest/gtest.h>

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/adamw.h"
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/reduce.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;

constexpr double kUlps4 = 4.0 / (1 << 23);

merino::AdamWStep make_step(int64_t step, double grad_scale, double weight_decay) {
  merino::AdamWStep s;
  s.lr = 3e-3;
  s.beta1 = 0.9;
  s.beta2 = 0.95;
  s.eps = 1e-8;
  s.weight_decay = weight_decay;
  s.step = step;
  s.grad_scale = grad_scale;
  return s;
}

struct AdamCase {
  size_t n;
  size_t off_p, off_m;  // element offsets of params/grads/v (off_p) and of m (off_m)
};

std::string name(const AdamCase& c) {
  return "n=" + std::to_string(c.n) + " offsets=" + std::to_string(c.off_p) + "," +
         std::to_string(c.off_m);
}

// n = 1, 3 (scalar only), 7 (peel + 1 vector + tail), a prime > 2^20 (many vectors, tail),
// offsets 1/1 (peeled, vectorised) and 1/2 (misaligned relative to each other: scalar)
const AdamCase kAdamCases[] = {{1, 0, 0},       {3, 0, 0},       {7, 1, 1},
                               {1000003, 0, 0}, {1000003, 1, 1}, {4099, 1, 2}};

// three consecutive steps (step 1 exercises the largest bias correction), G-typed gradients
template <class G>
void check_adamw_against_cpu(const AdamCase& c, double weight_decay, double grad_scale) {
  std::mt19937 rng(1234 + unsigned(c.n));
  Floats p = uniform(c.n, rng, -1.f, 1.f), m(c.n, 0.f), v(c.n, 0.f);
  DeviceBuffer<float> dp(p, c.off_p), dm(m, c.off_m), dv(v, c.off_p);
  for (int64_t step = 1; step <= 3; ++step) {
    const Floats g_raw = uniform(c.n, rng, -2.f, 2.f);
    std::vector<G> g(c.n);
    Floats g_ref(c.n);
    for (size_t i = 0; i < c.n; ++i) {
      if constexpr (std::is_same_v<G, float>) {
        g[i] = g_raw[i];
      } else {
        g[i] = to_bf16(g_raw[i]);
      }
      g_ref[i] = as_float(g[i]);
    }
    DeviceBuffer<G> dg(g, c.off_p);
    const merino::AdamWStep s = make_step(step, grad_scale, weight_decay);
    merino::cpu::adamw_update(p.data(), g_ref.data(), m.data(), v.data(), c.n, s);
    merino::cuda::adamw_update(dp.get(), dg.get(), dm.get(), dv.get(), c.n, s);
    CUDA_CHECK(cudaDeviceSynchronize());
  }
  const std::string what = name(c);
  expect_close(what + " params", dp.download(), p, 1e-12, kUlps4);
  expect_close(what + " m", dm.download(), m, 1e-12, kUlps4);
  expect_close(what + " v", dv.download(), v, 1e-15, kUlps4);
}

TEST(AdamW, MatchesCpuFp32Grads) {
  REQUIRE_CUDA_DEVICE();
  for (const AdamCase& c : kAdamCases) {
    SCOPED_TRACE(name(c));
    check_adamw_against_cpu<float>(c, 0.1, 0.37);
  }
}

TEST(AdamW, MatchesCpuBf16Grads) {
  REQUIRE_CUDA_DEVICE();
  for (const AdamCase& c : kAdamCases) {
    SCOPED_TRACE(name(c));
    check_adamw_against_cpu<bf16>(c, 0.0, 1.0);
  }
}

// The clip chain without a host round trip: sum of squares on the device -> clip factor on the
// device -> AdamW reading it, against the trainer's host formula on the CPU twin.
TEST(AdamW, DeviceClipScaleMatchesHostClipping) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 30011;
  std::mt19937 rng(77);
  Floats p = uniform(n, rng, -1.f, 1.f), m = uniform(n, rng, -0.1f, 0.1f),
         v = uniform(n, rng, 0.f, 0.01f), g = uniform(n, rng, -1.f, 1.f);
  for (const double max_norm : {1.0, 1e6, 0.0}) {  // clipped, not clipped, clipping disabled
    SCOPED_TRACE("max_norm=" + std::to_string(max_norm));
    Floats pc = p, mc = m, vc = v;
    DeviceBuffer<float> dp(p), dm(m), dv(v), dg(g), dscale(1);
    DeviceBuffer<double> dsum(1);
    merino::cuda::sum_squares_device(dsum.get(), dg.get(), n);
    merino::cuda::grad_clip_scale(dscale.get(), dsum.get(), max_norm);
    merino::AdamWStep s = make_step(5, 1.0, 0.1);
    merino::cuda::adamw_update(dp.get(), dg.get(), dm.get(), dv.get(), n, s, 0, dscale.get());

    const double norm = std::sqrt(merino::cpu::sum_squares(g.data(), n));
    const double host_scale = max_norm > 0 && norm > max_norm ? max_norm / norm : 1.0;
    const float got_scale = dscale.download()[0];
    EXPECT_NEAR(got_scale, float(host_scale), float(host_scale) * 1.2e-7);
    if (host_scale == 1.0) {
      EXPECT_EQ(got_scale, 1.0f);  // the unclipped factor is exactly 1
    }
    s.grad_scale = host_scale;
    merino::cpu::adamw_update(pc.data(), g.data(), mc.data(), vc.data(), n, s);
    expect_close("params", dp.download(), pc, 1e-12, kUlps4);
    expect_close("m", dm.download(), mc, 1e-12, kUlps4);
  }
}

// ---------------------------------------------------------------------------------------------
// Stochastic rounding: the rule itself (host), then the device kernel against it.

// bf16 values below and above x (truncation toward zero and the next one away from zero)
void neighbours(float x, uint16_t* down, uint16_t* up) {
  *down = uint16_t(float_bits(x) >> 16);
  *up = uint16_t(*down + ((float_bits(x) & 0xffffu) ? 1 : 0));
}

TEST(StochasticRoundingRule, RepresentableValuesAreExact) {
  const uint64_t key = merino::cuda::stochastic_round_key(42, 7);
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> word;
  for (int k = 0; k < 100000; ++k) {
    const uint16_t b = uint16_t(word(rng));
    const float x = bf16_bits_to_float(b);
    if (std::isnan(x)) continue;
    ASSERT_EQ(merino::cuda::bf16_stochastic_round_bits(x, key, uint64_t(k)), b) << x;
  }
  for (const float x : {0.0f, -0.0f, INFINITY, -INFINITY}) {
    EXPECT_EQ(merino::cuda::bf16_stochastic_round_bits(x, key, 3), uint16_t(float_bits(x) >> 16));
  }
  const uint16_t nan = merino::cuda::bf16_stochastic_round_bits(std::nanf(""), key, 3);
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(nan)));
  // a NaN whose payload sits only in the low 16 bits must not become infinity
  const uint32_t low_nan = 0x7f800001u;
  float x;
  std::memcpy(&x, &low_nan, sizeof(x));
  EXPECT_TRUE(std::isnan(bf16_bits_to_float(merino::cuda::bf16_stochastic_round_bits(x, key, 0))));
}

// Values with a known position between two bf16 neighbours: the fraction that rounds up must be
// that position, and the mean must converge to the value where round-to-nearest is biased.
// Each of N draws rounds up with probability q, so the up-count has standard deviation
// sqrt(N q (1 - q)); 5 standard deviations give a false-failure rate below 1e-6.
const float kRoundValues[] = {1.0f + 0x1p-10f,      // q = 1/8 of a bf16 ulp (2^-7)
                              -3.0f - 0x1.8p-9f,    // q = 3/8 (ulp 2^-6), negative
                              1e-30f, 0.1f, 3e-39f,  // tiny, decimal, subnormal
                              65504.7f};

template <class Sample>
void check_unbiased(float x, size_t draws, Sample sample) {
  uint16_t down, up;
  neighbours(x, &down, &up);
  ASSERT_NE(down, up) << x << " is representable";
  const double lo = bf16_bits_to_float(down), hi = bf16_bits_to_float(up);
  const double q = (double(x) - lo) / (hi - lo);
  size_t ups = 0;
  double sum = 0;
  for (size_t k = 0; k < draws; ++k) {
    const uint16_t b = sample(k);
    ASSERT_TRUE(b == down || b == up) << "rounded " << x << " to a non-neighbour";
    ups += b == up;
    sum += bf16_bits_to_float(b);
  }
  const double sd = std::sqrt(double(draws) * q * (1 - q));
  EXPECT_NEAR(double(ups), double(draws) * q, 5 * sd) << x;
  const double mean_tol = 5 * sd / double(draws) * std::fabs(hi - lo);
  EXPECT_NEAR(sum / double(draws), double(x), mean_tol) << x;
  // the test has power: round-to-nearest would be off by more than the tolerance
  const double nearest = as_float(to_bf16(x));
  EXPECT_GT(std::fabs(nearest - double(x)), mean_tol) << x;
}

TEST(StochasticRoundingRule, MeanConvergesToValue) {
  for (const float x : kRoundValues) {
    SCOPED_TRACE(x);
    for (int64_t step : {1, 2}) {
      const uint64_t key = merino::cuda::stochastic_round_key(2024, step);
      check_unbiased(x, 1 << 18, [&](size_t k) {
        return merino::cuda::bf16_stochastic_round_bits(x, key, uint64_t(k));
      });
    }
  }
}

// The bf16 variant: fp32 state bit-identical to the plain kernel, and every bf16 element equal
// to the host rule applied to the new master weight with (seed, step, index_offset + i).
TEST(AdamWBf16, CopyIsStochasticRoundingOfMaster) {
  REQUIRE_CUDA_DEVICE();
  for (const AdamCase& c : kAdamCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(99 + unsigned(c.n));
    const Floats p = uniform(c.n, rng, -2.f, 2.f), m = uniform(c.n, rng, -0.1f, 0.1f),
                 v = uniform(c.n, rng, 0.f, 0.01f), g_raw = uniform(c.n, rng, -1.f, 1.f);
    const std::vector<bf16> g = to_bf16(g_raw);
    DeviceBuffer<float> p1(p, c.off_p), m1(m, c.off_m), v1(v, c.off_p);
    DeviceBuffer<float> p2(p, c.off_p), m2(m, c.off_m), v2(v, c.off_p);
    DeviceBuffer<bf16> dg(g, c.off_p), pb(c.n, c.off_m);
    const merino::AdamWStep s = make_step(11, 0.5, 0.1);
    const uint64_t seed = 1337, offset = 123456789;
    merino::cuda::adamw_update(p1.get(), dg.get(), m1.get(), v1.get(), c.n, s);
    merino::cuda::adamw_update_bf16(p2.get(), pb.get(), dg.get(), m2.get(), v2.get(), c.n, s,
                                    seed, offset);
    const Floats pf = p2.download();
    expect_bitwise_equal("params", p1.download(), pf);
    expect_bitwise_equal("m", m1.download(), m2.download());
    expect_bitwise_equal("v", v1.download(), v2.download());
    const std::vector<bf16> copy = pb.download();
    const uint64_t key = merino::cuda::stochastic_round_key(seed, s.step);
    size_t wrong = 0, rounded_up = 0;
    for (size_t i = 0; i < c.n; ++i) {
      const uint16_t want = merino::cuda::bf16_stochastic_round_bits(pf[i], key, offset + i);
      wrong += bits_of(copy[i]) != want;
      rounded_up += bits_of(copy[i]) != uint16_t(float_bits(pf[i]) >> 16);
    }
    EXPECT_EQ(wrong, 0u) << "bf16 copy differs from the host rounding rule";
    if (c.n > 1000) {
      EXPECT_GT(rounded_up, 0u) << "no element rounded up: the copy is truncated";
    }
  }
}

// With lr = 0 the master weights stay put, so successive steps re-round the same values with
// fresh random bits: over elements and steps the bf16 copy must average to the fp32 value.
TEST(AdamWBf16, CopyMeanConvergesToMaster) {
  REQUIRE_CUDA_DEVICE();
  constexpr size_t kPerValue = 1 << 14;
  constexpr int kSteps = 16;
  const size_t nvals = std::size(kRoundValues), n = nvals * kPerValue;
  Floats p(n);
  for (size_t i = 0; i < n; ++i) p[i] = kRoundValues[i / kPerValue];
  const Floats zeros(n, 0.f);
  DeviceBuffer<float> dp(p), dm(zeros), dv(zeros), dg(zeros);
  DeviceBuffer<bf16> pb(n);
  std::vector<std::vector<bf16>> copies;
  for (int step = 1; step <= kSteps; ++step) {
    merino::AdamWStep s = make_step(step, 1.0, 0.1);
    s.lr = 0.0;
    merino::cuda::adamw_update_bf16(dp.get(), pb.get(), dg.get(), dm.get(), dv.get(), n, s, 7);
    copies.push_back(pb.download());
  }
  expect_bitwise_equal("params unchanged with lr = 0", dp.download(), p);
  for (size_t j = 0; j < nvals; ++j) {
    SCOPED_TRACE(kRoundValues[j]);
    check_unbiased(kRoundValues[j], kPerValue * kSteps, [&](size_t k) {
      return bits_of(copies[k / kPerValue][j * kPerValue + k % kPerValue]);
    });
  }
}

TEST(AdamWBf16, RepresentableMasterIsCopiedExactly) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 10007;
  std::mt19937 rng(3);
  const Floats p = to_float(to_bf16(uniform(n, rng, -4.f, 4.f))), zeros(n, 0.f);
  DeviceBuffer<float> dp(p), dm(zeros), dv(zeros), dg(zeros);
  DeviceBuffer<bf16> pb(n);
  merino::AdamWStep s = make_step(1, 1.0, 0.0);
  s.lr = 0.0;
  merino::cuda::adamw_update_bf16(dp.get(), pb.get(), dg.get(), dm.get(), dv.get(), n, s, 99);
  expect_bitwise_equal("bf16 copy", to_float(pb.download()), p);
}

// narrow_bf16 (the rounding alone): every element equal to the host rule with (seed, step,
// index_offset + i), on the vector path, the peeled path and the scalar fallback (the cases'
// offsets shift src by off_p floats and dst by off_m bf16); and bit for bit the copy an AdamW
// step with the same seed and step writes for the same fp32 values.
TEST(NarrowBf16, MatchesHostRuleAndAdamWCopy) {
  REQUIRE_CUDA_DEVICE();
  for (const AdamCase& c : kAdamCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(7 + unsigned(c.n));
    const Floats p = uniform(c.n, rng, -2.f, 2.f), m = uniform(c.n, rng, -0.1f, 0.1f),
                 v = uniform(c.n, rng, 0.f, 0.01f), g = uniform(c.n, rng, -1.f, 1.f);
    const merino::AdamWStep s = make_step(5, 1.0, 0.1);
    const uint64_t seed = 4242, offset = 987654321;
    const uint64_t key = merino::cuda::stochastic_round_key(seed, s.step);

    DeviceBuffer<float> src(p, c.off_p);
    DeviceBuffer<bf16> dst(c.n, c.off_m);
    merino::cuda::narrow_bf16(dst.get(), src.get(), c.n, s, seed, offset);
    const std::vector<bf16> narrowed = dst.download();
    size_t wrong = 0, rounded_up = 0;
    for (size_t i = 0; i < c.n; ++i) {
      wrong += bits_of(narrowed[i]) !=
               merino::bf16_stochastic_round_bits(p[i], key, offset + i);
      rounded_up += bits_of(narrowed[i]) != uint16_t(float_bits(p[i]) >> 16);
    }
    EXPECT_EQ(wrong, 0u) << "narrowed copy differs from the host rounding rule";
    if (c.n > 1000) {
      EXPECT_GT(rounded_up, 0u) << "no element rounded up: the copy is truncated";
    }

    DeviceBuffer<float> dp(p, c.off_p), dm(m, c.off_m), dv(v, c.off_p), dg(g, c.off_p);
    DeviceBuffer<bf16> pb(c.n, c.off_m), renarrowed(c.n, c.off_m);
    merino::cuda::adamw_update_bf16(dp.get(), pb.get(), dg.get(), dm.get(), dv.get(), c.n, s,
                                    seed, offset);
    merino::cuda::narrow_bf16(renarrowed.get(), dp.get(), c.n, s, seed, offset);
    const std::vector<bf16> from_adamw = pb.download(), from_narrow = renarrowed.download();
    EXPECT_EQ(std::memcmp(from_adamw.data(), from_narrow.data(), c.n * sizeof(bf16)), 0)
        << "narrow of the new master differs from AdamW's copy";
  }
}

}  // namespace

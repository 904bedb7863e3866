// CUDA cross-entropy (kernels/cuda/crossentropy.cu) against its CPU twin (merino::cpu,
// kernels/cpu/crossentropy.h) on seeded random inputs: V = 50257 (GPT-2, scalar path), 50304
// (padded, packed path), V below a block's threads, N = 1, an ignored row, and rows padded to a
// stride ld > V. Typed tests run for fp32 and bf16 logits (CudaCrossEntropy/0.* and /1.*; in
// CTest CudaCrossEntropy.<Test><float> and <__nv_bfloat16>); losses are fp32 for both, the
// gradient is written over the logits in T. Every test first checks for a device and reports
// SKIPPED (never passes) when there is none. The reference is the fp32 twin on the exact float
// values of the logits; each bound is reasoned beside it below, and a bf16 gradient carries the
// bound of a value stored as bf16 (stored_atol / stored_rtol, mixed_precision_testing.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/crossentropy.h"
#include "kernels/cuda/crossentropy.cuh"
#include "tests/cuda/mixed_precision_testing.h"

namespace {

using namespace merino::testing;

struct CeCase {
  int N, V;
};

// V = 50257 (GPT-2, scalar path), 50304 (padded, float4 path), V < the 512 threads of a block,
// N = 1. Row 2 (when present) is ignored.
const CeCase kCeCases[] = {{4, 50257}, {5, 50304}, {3, 1024}, {1, 7}, {6, 13}};
constexpr int32_t kIgnore = -100;

// Loss = log(sum of V exps) + max - x[target]: the GPU sum (float, V/512 terms per thread then
// a tree) is off by ~1e-6 relative, so log is off by ~1e-6 absolute, plus <= 2 ulp from
// expf/logf; losses are ~ln V ~ 11.
constexpr double kLossAtol = 1e-5, kLossRtol = 1e-5;
// dlogits = scale * p: p inherits the sum's ~1e-6 relative error plus a few ulps of expf; the
// target entry scale * (p - 1) loses relative precision to cancellation, hence a small bound
// relative to |scale|.
constexpr double kGradRtol = 1e-5, kGradAtolPerScale = 1e-7;

std::vector<int32_t> ce_targets(const CeCase& tc, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, tc.V - 1);
  std::vector<int32_t> t(tc.N);
  for (auto& x : t) x = dist(rng);
  if (tc.N > 2) t[2] = kIgnore;
  return t;
}

template <class T>
class CudaCrossEntropy : public ::testing::Test {};
TYPED_TEST_SUITE(CudaCrossEntropy, ElementTypes);

std::string name(const CeCase& tc) {
  return "N=" + std::to_string(tc.N) + " V=" + std::to_string(tc.V);
}

template <class T>
void expect_bitwise(const char* what, const std::vector<T>& got, const std::vector<T>& want) {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(T)), 0) << what;
}

TYPED_TEST(CudaCrossEntropy, ForwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(11);
  for (const CeCase& tc : kCeCases) {
    SCOPED_TRACE(name(tc));
    const auto logits = random_tensor<T, float>(static_cast<size_t>(tc.N) * tc.V, rng, -4, 4);
    const std::vector<int32_t> targets = ce_targets(tc, rng);
    Floats losses(tc.N);
    merino::cpu::crossentropy_forward<float>(losses.data(), logits.d.data(), targets.data(),
                                             tc.N, tc.V, tc.V, kIgnore);
    DeviceBuffer<T> d_logits(logits.t);
    DeviceBuffer<float> d_losses(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    merino::cuda::crossentropy_forward(d_losses.get(), d_logits.get(), d_targets.get(), tc.N,
                                       tc.V, tc.V, kIgnore);
    const Floats got = d_losses.download();
    expect_close("losses", got, losses, kLossAtol, kLossRtol);
    if (tc.N > 2) {
      EXPECT_EQ(got[2], 0.f) << "ignored row";
    }
    expect_bitwise("forward must leave the logits untouched", d_logits.download(), logits.t);
  }
}

TYPED_TEST(CudaCrossEntropy, ForwardBackwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(12);
  for (const CeCase& tc : kCeCases) {
    SCOPED_TRACE(name(tc));
    const size_t NV = static_cast<size_t>(tc.N) * tc.V;
    const auto logits = random_tensor<T, float>(NV, rng, -4, 4);
    const std::vector<int32_t> targets = ce_targets(tc, rng);
    const float scale = 1.0f / static_cast<float>(tc.N);
    DeviceBuffer<T> d_logits(logits.t);
    DeviceBuffer<float> d_losses(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    Floats dlogits_ref = logits.d, losses(tc.N);
    merino::cpu::crossentropy_forward_backward<float>(dlogits_ref.data(), losses.data(),
                                                      targets.data(), tc.N, tc.V, tc.V, kIgnore,
                                                      scale);
    merino::cuda::crossentropy_forward_backward(d_logits.get(), d_losses.get(), d_targets.get(),
                                                tc.N, tc.V, tc.V, kIgnore, scale);
    const Floats dlogits = to_float(d_logits.download());
    expect_close("losses", d_losses.download(), losses, kLossAtol, kLossRtol);
    expect_close("dlogits", dlogits, dlogits_ref, stored_atol<T>(kGradAtolPerScale * scale),
                 stored_rtol<T>(kGradRtol));
    if (tc.N > 2) {
      const auto row = dlogits.begin() + 2 * static_cast<size_t>(tc.V);
      EXPECT_TRUE(std::all_of(row, row + tc.V, [](float v) { return v == 0.f; }))
          << "ignored row must get an all-zero gradient";
    }
    // Each non-ignored gradient row sums to scale * (1 - 1) = 0. bf16 rounds every entry by up
    // to 2^-8 of itself, and a row's |entries| add up to at most 2 scale: 2^-7 scale < 1e-2 scale.
    const double row_sum_tol = (kIsBf16<T> ? 1e-2 : 1e-5) * scale;
    for (int r = 0; r < tc.N; ++r) {
      double s = 0.0;
      for (int v = 0; v < tc.V; ++v) s += dlogits[static_cast<size_t>(r) * tc.V + v];
      EXPECT_NEAR(s, 0.0, row_sum_tol) << "row " << r;
    }
  }
}

// A padded vocabulary (rows ld apart, ld - V padding columns holding large values that must not
// be read): the losses and the scored columns' gradient are the CPU twin's on the compacted
// [N, V] logits, the padding columns' gradient is zero. ld = 16 and 1024 take the packed paths
// with the last pack partly padding; ld = 13 (V = 11) the scalar one. Kept small enough for an
// emulated device.
template <class T>
void strided_ce_matches_compacted_cpu(uint32_t seed) {
  struct Strided {
    int N, V, ld;
  };
  std::mt19937 rng(seed);
  for (const Strided tc : {Strided{3, 11, 16}, Strided{4, 1000, 1024}, Strided{3, 11, 13}}) {
    SCOPED_TRACE("V=" + std::to_string(tc.V) + " ld=" + std::to_string(tc.ld));
    const size_t n = static_cast<size_t>(tc.N) * tc.ld;
    Floats padded = uniform(n, rng, -4.f, 4.f);
    for (int r = 0; r < tc.N; ++r)
      for (int v = tc.V; v < tc.ld; ++v) padded[static_cast<size_t>(r) * tc.ld + v] = 30.f;
    std::vector<T> host(n);
    std::transform(padded.begin(), padded.end(), host.begin(), round_to<T>);
    const Floats seen = to_float(host);  // the values the device sees
    Floats compact(static_cast<size_t>(tc.N) * tc.V);
    for (int r = 0; r < tc.N; ++r)
      for (int v = 0; v < tc.V; ++v)
        compact[static_cast<size_t>(r) * tc.V + v] = seen[static_cast<size_t>(r) * tc.ld + v];
    const CeCase shape{tc.N, tc.V};
    const std::vector<int32_t> targets = ce_targets(shape, rng);
    const float scale = 0.5f;
    Floats losses(tc.N);
    merino::cpu::crossentropy_forward_backward<float>(compact.data(), losses.data(), targets.data(),
                                                      tc.N, tc.V, tc.V, kIgnore, scale);
    DeviceBuffer<T> d_logits(host), d_grad(host);
    DeviceBuffer<float> d_losses(tc.N), d_losses_fb(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    merino::cuda::crossentropy_forward(d_losses.get(), d_logits.get(), d_targets.get(), tc.N, tc.V,
                                       tc.ld, kIgnore);
    merino::cuda::crossentropy_forward_backward(d_grad.get(), d_losses_fb.get(), d_targets.get(),
                                                tc.N, tc.V, tc.ld, kIgnore, scale);
    expect_close("losses (forward)", d_losses.download(), losses, kLossAtol, kLossRtol);
    expect_close("losses (forward_backward)", d_losses_fb.download(), losses, kLossAtol, kLossRtol);
    const Floats grad = to_float(d_grad.download());
    Floats scored(compact.size());
    for (int r = 0; r < tc.N; ++r) {
      for (int v = 0; v < tc.ld; ++v) {
        const float g = grad[static_cast<size_t>(r) * tc.ld + v];
        if (v < tc.V) scored[static_cast<size_t>(r) * tc.V + v] = g;
        else EXPECT_EQ(g, 0.f) << "padding column " << v << " of row " << r;
      }
    }
    expect_close("dlogits", scored, compact, 2 * kGradAtolPerScale * scale,
                 stored_rtol<T>(kGradRtol));
  }
}

TYPED_TEST(CudaCrossEntropy, StridedRowsScoreOnlyTheFirstVColumns) {
  REQUIRE_CUDA_DEVICE();
  strided_ce_matches_compacted_cpu<TypeParam>(14);
}

}  // namespace

// CUDA kernels against their CPU twins (merino::cpu, kernels/cpu) on seeded random inputs,
// including odd sizes: C not a multiple of 4 (scalar path), N = 1, partial blocks, V = 50257,
// an ignored row, a C that needs opt-in shared memory. The residual add fused with a norm is
// also checked against the two GPU kernels it replaces, bit for bit. Every test first checks
// for a device and reports SKIPPED (never passes) when there is none.
//
// Tolerances. Both sides compute in fp32 (eps = 2^-23 ~ 1.2e-7), but the CPU twins accumulate
// their reductions in double, so the differences measured here are essentially the rounding
// error of the GPU's float reductions plus a few ulps per element-wise op. A float sum of K
// terms, split over lanes and combined by a tree as the kernels do, has a typical relative error
// of order sqrt(K / lanes) * eps -- about 1e-6 for the row lengths used here -- and every bound
// below leaves about a factor 3-10 over that estimate (run through a CPU emulation of the
// kernels, the worst element used under 3% of its bound; the GPU adds FMA contraction and
// expf/logf that may be 2 ulp off, well inside the margin). A real indexing or formula bug
// shows up as an O(1e-2..1) error, orders of magnitude above these bounds.
//
// Mixed precision (bf16 tensors; fp32 statistics, parameter gradients and losses): the CPU
// reference is the same fp32 twin run on the exact float values of the bf16 inputs, so every
// fp32 output keeps its fp32 bound. A bf16 output (out, dinp, dlogits) is the kernel's fp32
// value rounded to nearest once more: bf16 keeps 8 significant bits, so that rounding moves it
// by at most 2^-8 = 3.9e-3 of its magnitude. kBf16Rtol = 4e-3 covers it plus the fp32 relative
// bounds (<= 1e-5, also carried through the rounding), and the fp32 absolute bounds double to
// leave room for their own rounding. A formula applied to the wrong (unrounded, or twice
// rounded) values, or a missed +=, is off by far more than one bf16 rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/norms.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/norms.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;

constexpr double kBf16Rtol = 4e-3;

// n values uniform in [lo, hi) rounded to bf16: the device copy and its exact float values
struct Bf16Values {
  std::vector<bf16> t;
  Floats f;
};
Bf16Values bf16_uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  Bf16Values v;
  v.t = to_bf16(uniform(n, rng, lo, hi));
  v.f = to_float(v.t);
  return v;
}

struct NormCase {
  int N, C;
};

std::string name(const NormCase& c) {
  std::ostringstream s;
  s << "N=" << c.N << " C=" << c.C;
  return s.str();
}

// N = 1; C < 32 (idle lanes); C % 4 != 0 (scalar path); N not a multiple of the 8 rows of a
// forward block or the 16 rows of a backward block; > 32 backward blocks (strided partial sums);
// C = 6200: 2 * C floats = 49.6 KB of shared memory in LayerNorm backward, above the 48 KB
// default, so the opt-in path runs. N = 2100: 132 backward blocks, a split partial-sum
// reduction (3 slices of 44 rows).
const NormCase kNormCases[] = {{1, 77},    {37, 77},  {19, 3},    {5, 4},    {64, 768},
                               {130, 1024}, {643, 77}, {600, 128}, {3, 6200}, {2100, 96}};

// Forward tolerances: the row statistics are float sums of C terms, relative error ~1e-6, and
// |out| <= ~6 here, so out is off by a few 1e-6 in the worst rows; mean is O(0.1) but its error
// scales with mean|x| ~ 1, hence an absolute bound; rstd is O(1) with about half the relative
// error of the variance.
constexpr double kOutAtol = 1e-5, kOutRtol = 1e-5;
constexpr double kMeanAtol = 5e-6;
constexpr double kRstdRtol = 1e-5;
// Backward: dinp is O(1..5) (its initial value plus rstd * (...)), same reasoning as out.
constexpr double kDinpAtol = 1e-5, kDinpRtol = 1e-5;
// dweight / dbias sum N per-row terms of size <~2: the partial sums are O(sqrt(N)) and their
// rounding error grows like a random walk, ~N * eps ~ 1.2e-7 * N, under 1e-5 * sqrt(N) for
// N <= 643 with a margin of 3 or more.
double dparam_atol(int N) { return 1e-5 * std::sqrt(static_cast<double>(N)); }
constexpr double kDparamRtol = 1e-5;

TEST(CudaNorms, LayerNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(1234);
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(with_bias ? "with bias" : "bias = null");
      const Floats inp = uniform(NC, rng, -1.7f, 2.3f);  // nonzero row means
      const Floats w = uniform(tc.C, rng, 0.5f, 1.5f), b = uniform(tc.C, rng, -0.5f, 0.5f);
      Floats out(NC), mean(tc.N), rstd(tc.N);
      merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.data(),
                                            w.data(), with_bias ? b.data() : nullptr, tc.N, tc.C,
                                            1e-5f);
      DeviceBuffer<float> d_inp(inp), d_w(w), d_b(b), d_out(NC), d_mean(tc.N), d_rstd(tc.N);
      merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                      d_w.get(), with_bias ? d_b.get() : nullptr, tc.N, tc.C,
                                      1e-5f);
      expect_close("out", d_out.download(), out, kOutAtol, kOutRtol);
      expect_close("mean", d_mean.download(), mean, kMeanAtol, 0.0);
      expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
    }
  }
}

// C % 4 == 0 but the pointers are not 16-byte aligned: the launcher must take the scalar path.
TEST(CudaNorms, LayerNormForwardUnalignedPointers) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(99);
  const int N = 21, C = 256;
  const Floats inp = uniform(static_cast<size_t>(N) * C, rng, -2.f, 2.f);
  const Floats w = uniform(C, rng, 0.5f, 1.5f), b = uniform(C, rng, -0.5f, 0.5f);
  Floats out(inp.size()), mean(N), rstd(N);
  merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.data(),
                                        w.data(), b.data(), N, C, 1e-5f);
  DeviceBuffer<float> d_inp(inp, 1), d_w(w, 1), d_b(b, 1), d_out(inp.size(), 1), d_mean(N),
      d_rstd(N);
  merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                  d_w.get(), d_b.get(), N, C, 1e-5f);
  expect_close("out", d_out.download(), out, kOutAtol, kOutRtol);
  expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
}

TEST(CudaNorms, LayerNormBackwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(42);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool with_bias = case_index % 3 != 2;        // some cases pass dbias = null
    const bool own_scratch = case_index++ % 2 == 1;    // alternate both scratch paths
    const Floats inp = uniform(NC, rng, -1.7f, 2.3f), dout = uniform(NC, rng, -1.f, 1.f);
    const Floats w = uniform(tc.C, rng, 0.5f, 1.5f), b = uniform(tc.C, rng, -0.5f, 0.5f);
    // statistics from the CPU forward feed both backward passes, isolating backward
    Floats out(NC), mean(tc.N), rstd(tc.N);
    merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.data(),
                                          w.data(), b.data(), tc.N, tc.C, 1e-5f);
    // nonzero initial gradients: the kernels must accumulate (+=), not overwrite
    Floats dinp = uniform(NC, rng, -1.f, 1.f), dw = uniform(tc.C, rng, -1.f, 1.f),
           db = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<float> d_inp(inp), d_dout(dout), d_w(w), d_mean(mean), d_rstd(rstd),
        d_dinp(dinp), d_dw(dw), d_db(db);
    DeviceBuffer<float> d_scratch(merino::cuda::layernorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::layernorm_backward<float>(dinp.data(), dw.data(), with_bias ? db.data() : nullptr,
                                           dout.data(), inp.data(), w.data(), mean.data(),
                                           rstd.data(), tc.N, tc.C);
    merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), with_bias ? d_db.get() : nullptr,
                                     d_dout.get(), d_inp.get(), d_w.get(), d_mean.get(),
                                     d_rstd.get(), tc.N, tc.C, 0,
                                     own_scratch ? d_scratch.get() : nullptr);
    expect_close("dinp", d_dinp.download(), dinp, kDinpAtol, kDinpRtol);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
    // dbias = null must leave the bias gradient alone (db still holds its initial values)
    expect_close("dbias", d_db.download(), db, dparam_atol(tc.N), kDparamRtol);
  }
}

// The split partial-sum reduction (default) and the earlier single pass sum the same partials in
// different orders: equal to float reassociation, and each bitwise repeatable.
TEST(CudaNorms, BackwardReductionsAgreeAndRepeat) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(44);
  const int N = 8192, C = 96;  // 512 partial rows: 8 slices
  const size_t NC = static_cast<size_t>(N) * C;
  const Floats inp = uniform(NC, rng, -1.7f, 2.3f), dout = uniform(NC, rng, -1.f, 1.f);
  const Floats w = uniform(C, rng, 0.5f, 1.5f), b = uniform(C, rng, -0.5f, 0.5f);
  Floats out(NC), mean(N), rstd(N);
  merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.data(), w.data(),
                                        b.data(), N, C, 1e-5f);
  DeviceBuffer<float> d_inp(inp), d_dout(dout), d_w(w), d_mean(mean), d_rstd(rstd), d_dinp(NC),
      d_dw(C), d_db(C), d_scratch(merino::cuda::layernorm_backward_scratch_floats(N, C));
  auto run = [&](merino::cuda::NormReduce reduce) {
    d_dw.upload(Floats(C, 0.f));
    d_db.upload(Floats(C, 0.f));
    merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(),
                                     d_inp.get(), d_w.get(), d_mean.get(), d_rstd.get(), N, C, 0,
                                     d_scratch.get(), reduce);
    Floats g = d_dw.download(), db = d_db.download();
    g.insert(g.end(), db.begin(), db.end());
    return g;
  };
  const Floats split = run(merino::cuda::NormReduce::kSplit);
  EXPECT_EQ(run(merino::cuda::NormReduce::kSplit), split) << "split reduction not repeatable";
  const Floats single = run(merino::cuda::NormReduce::kSinglePass);
  EXPECT_EQ(run(merino::cuda::NormReduce::kSinglePass), single);
  expect_close("split vs single pass", split, single, dparam_atol(N), kDparamRtol);
}

TEST(CudaNorms, RmsNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(7);
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const Floats inp = uniform(NC, rng, -1.7f, 2.3f), w = uniform(tc.C, rng, 0.5f, 1.5f);
    Floats out(NC), rstd(tc.N);
    merino::cpu::rmsnorm_forward<float>(out.data(), rstd.data(), inp.data(), w.data(), tc.N,
                                        tc.C, 1e-6f);
    DeviceBuffer<float> d_inp(inp), d_w(w), d_out(NC), d_rstd(tc.N);
    merino::cuda::rmsnorm_forward(d_out.get(), d_rstd.get(), d_inp.get(), d_w.get(), tc.N, tc.C,
                                  1e-6f);
    expect_close("out", d_out.download(), out, kOutAtol, kOutRtol);
    expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
  }
}

TEST(CudaNorms, RmsNormBackwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(8);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool own_scratch = case_index++ % 2 == 0;
    const Floats inp = uniform(NC, rng, -1.7f, 2.3f), dout = uniform(NC, rng, -1.f, 1.f);
    const Floats w = uniform(tc.C, rng, 0.5f, 1.5f);
    Floats out(NC), rstd(tc.N);
    merino::cpu::rmsnorm_forward<float>(out.data(), rstd.data(), inp.data(), w.data(), tc.N,
                                        tc.C, 1e-6f);
    Floats dinp = uniform(NC, rng, -1.f, 1.f), dw = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<float> d_inp(inp), d_dout(dout), d_w(w), d_rstd(rstd), d_dinp(dinp), d_dw(dw);
    DeviceBuffer<float> d_scratch(merino::cuda::rmsnorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::rmsnorm_backward<float>(dinp.data(), dw.data(), dout.data(), inp.data(),
                                         w.data(), rstd.data(), tc.N, tc.C);
    merino::cuda::rmsnorm_backward(d_dinp.get(), d_dw.get(), d_dout.get(), d_inp.get(),
                                   d_w.get(), d_rstd.get(), tc.N, tc.C, 0,
                                   own_scratch ? d_scratch.get() : nullptr);
    expect_close("dinp", d_dinp.download(), dinp, kDinpAtol, kDinpRtol);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
  }
}

// bf16 activations and weights (C % 8 == 0 and aligned: 8-element packs; C = 3, 4, 77: scalar),
// fp32 mean / rstd.
TEST(CudaNormsBf16, LayerNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(2234);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool with_bias = case_index++ % 3 != 2;
    const Bf16Values inp = bf16_uniform(NC, rng, -1.7f, 2.3f);
    const Bf16Values w = bf16_uniform(tc.C, rng, 0.5f, 1.5f);
    const Bf16Values b = bf16_uniform(tc.C, rng, -0.5f, 0.5f);
    Floats out(NC), mean(tc.N), rstd(tc.N);
    merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.f.data(),
                                          w.f.data(), with_bias ? b.f.data() : nullptr, tc.N,
                                          tc.C, 1e-5f);
    DeviceBuffer<bf16> d_inp(inp.t), d_w(w.t), d_b(b.t), d_out(NC);
    DeviceBuffer<float> d_mean(tc.N), d_rstd(tc.N);
    merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                    d_w.get(), with_bias ? d_b.get() : nullptr, tc.N, tc.C, 1e-5f);
    expect_close("out", to_float(d_out.download()), out, 2 * kOutAtol, kBf16Rtol);
    expect_close("mean", d_mean.download(), mean, kMeanAtol, 0.0);
    expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
  }
}

// bf16 pointers one element (2 bytes) off 16-byte alignment: the scalar path.
TEST(CudaNormsBf16, LayerNormUnalignedPointersMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(199);
  const int N = 21, C = 256;
  const size_t NC = static_cast<size_t>(N) * C;
  const Bf16Values inp = bf16_uniform(NC, rng, -2.f, 2.f), w = bf16_uniform(C, rng, 0.5f, 1.5f),
                   b = bf16_uniform(C, rng, -0.5f, 0.5f), dout = bf16_uniform(NC, rng, -1.f, 1.f),
                   dinp0 = bf16_uniform(NC, rng, -1.f, 1.f);
  Floats out(NC), mean(N), rstd(N), dinp = dinp0.f, dw(C, 0.f), db(C, 0.f);
  merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.f.data(),
                                        w.f.data(), b.f.data(), N, C, 1e-5f);
  merino::cpu::layernorm_backward<float>(dinp.data(), dw.data(), db.data(), dout.f.data(),
                                         inp.f.data(), w.f.data(), mean.data(), rstd.data(), N, C);
  DeviceBuffer<bf16> d_inp(inp.t, 1), d_w(w.t, 1), d_b(b.t, 1), d_out(NC, 1), d_dout(dout.t, 1),
      d_dinp(dinp0.t, 1);
  DeviceBuffer<float> d_mean(N), d_rstd(N), d_dw(Floats(C, 0.f)), d_db(Floats(C, 0.f));
  merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                  d_w.get(), d_b.get(), N, C, 1e-5f);
  expect_close("out", to_float(d_out.download()), out, 2 * kOutAtol, kBf16Rtol);
  expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
  DeviceBuffer<float> d_mean_ref(mean), d_rstd_ref(rstd);
  merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(),
                                   d_inp.get(), d_w.get(), d_mean_ref.get(), d_rstd_ref.get(), N,
                                   C);
  expect_close("dinp", to_float(d_dinp.download()), dinp, 2 * kDinpAtol, kBf16Rtol);
  expect_close("dweight", d_dw.download(), dw, dparam_atol(N), kDparamRtol);
  expect_close("dbias", d_db.download(), db, dparam_atol(N), kDparamRtol);
}

// bf16 dout / inp / weight / dinp (+=, rounded once), fp32 statistics and dweight / dbias (+=).
TEST(CudaNormsBf16, LayerNormBackwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(142);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool with_bias = case_index % 3 != 2;
    const bool own_scratch = case_index++ % 2 == 1;
    const Bf16Values inp = bf16_uniform(NC, rng, -1.7f, 2.3f);
    const Bf16Values dout = bf16_uniform(NC, rng, -1.f, 1.f);
    const Bf16Values w = bf16_uniform(tc.C, rng, 0.5f, 1.5f);
    const Bf16Values dinp0 = bf16_uniform(NC, rng, -1.f, 1.f);
    const Floats b = uniform(tc.C, rng, -0.5f, 0.5f);
    Floats out(NC), mean(tc.N), rstd(tc.N);
    merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.f.data(),
                                          w.f.data(), b.data(), tc.N, tc.C, 1e-5f);
    Floats dinp = dinp0.f, dw = uniform(tc.C, rng, -1.f, 1.f), db = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<bf16> d_inp(inp.t), d_dout(dout.t), d_w(w.t), d_dinp(dinp0.t);
    DeviceBuffer<float> d_mean(mean), d_rstd(rstd), d_dw(dw), d_db(db);
    DeviceBuffer<float> d_scratch(merino::cuda::layernorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::layernorm_backward<float>(dinp.data(), dw.data(), with_bias ? db.data() : nullptr,
                                           dout.f.data(), inp.f.data(), w.f.data(), mean.data(),
                                           rstd.data(), tc.N, tc.C);
    merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), with_bias ? d_db.get() : nullptr,
                                     d_dout.get(), d_inp.get(), d_w.get(), d_mean.get(),
                                     d_rstd.get(), tc.N, tc.C, 0,
                                     own_scratch ? d_scratch.get() : nullptr);
    expect_close("dinp", to_float(d_dinp.download()), dinp, 2 * kDinpAtol, kBf16Rtol);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
    expect_close("dbias", d_db.download(), db, dparam_atol(tc.N), kDparamRtol);
  }
}

TEST(CudaNormsBf16, RmsNormForwardAndBackwardMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(107);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool own_scratch = case_index++ % 2 == 0;
    const Bf16Values inp = bf16_uniform(NC, rng, -1.7f, 2.3f);
    const Bf16Values dout = bf16_uniform(NC, rng, -1.f, 1.f);
    const Bf16Values w = bf16_uniform(tc.C, rng, 0.5f, 1.5f);
    const Bf16Values dinp0 = bf16_uniform(NC, rng, -1.f, 1.f);
    Floats out(NC), rstd(tc.N);
    merino::cpu::rmsnorm_forward<float>(out.data(), rstd.data(), inp.f.data(), w.f.data(), tc.N,
                                        tc.C, 1e-6f);
    DeviceBuffer<bf16> d_inp(inp.t), d_w(w.t), d_out(NC), d_dout(dout.t), d_dinp(dinp0.t);
    DeviceBuffer<float> d_rstd(tc.N);
    merino::cuda::rmsnorm_forward(d_out.get(), d_rstd.get(), d_inp.get(), d_w.get(), tc.N, tc.C,
                                  1e-6f);
    expect_close("out", to_float(d_out.download()), out, 2 * kOutAtol, kBf16Rtol);
    expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);

    Floats dinp = dinp0.f, dw = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<float> d_rstd_ref(rstd), d_dw(dw);
    DeviceBuffer<float> d_scratch(merino::cuda::rmsnorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::rmsnorm_backward<float>(dinp.data(), dw.data(), dout.f.data(), inp.f.data(),
                                         w.f.data(), rstd.data(), tc.N, tc.C);
    merino::cuda::rmsnorm_backward(d_dinp.get(), d_dw.get(), d_dout.get(), d_inp.get(),
                                   d_w.get(), d_rstd_ref.get(), tc.N, tc.C, 0,
                                   own_scratch ? d_scratch.get() : nullptr);
    expect_close("dinp", to_float(d_dinp.download()), dinp, 2 * kDinpAtol, kBf16Rtol);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
  }
}

// No float atomics anywhere: two runs from the same state must agree bit for bit.
TEST(CudaNorms, BackwardIsDeterministic) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(5);
  const int N = 1000, C = 768;
  const size_t NC = static_cast<size_t>(N) * C;
  const Floats inp = uniform(NC, rng, -2.f, 2.f), dout = uniform(NC, rng, -1.f, 1.f);
  const Floats w = uniform(C, rng, 0.5f, 1.5f), b = uniform(C, rng, -0.5f, 0.5f);
  Floats out(NC), mean(N), rstd(N);
  merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.data(),
                                        w.data(), b.data(), N, C, 1e-5f);
  DeviceBuffer<float> d_inp(inp), d_dout(dout), d_w(w), d_mean(mean), d_rstd(rstd);
  std::vector<Floats> results[2];
  for (auto& r : results) {
    const Floats zeros_nc(NC, 0.f), zeros_c(C, 0.f);
    DeviceBuffer<float> d_dinp(zeros_nc), d_dw(zeros_c), d_db(zeros_c);
    merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(),
                                     d_inp.get(), d_w.get(), d_mean.get(), d_rstd.get(), N, C);
    r = {d_dinp.download(), d_dw.download(), d_db.download()};
  }
  for (size_t k = 0; k < results[0].size(); ++k) {
    ASSERT_EQ(results[0][k].size(), results[1][k].size());
    EXPECT_EQ(0, std::memcmp(results[0][k].data(), results[1][k].data(),
                             results[0][k].size() * sizeof(float)))
        << "output " << k << " differs between two identical runs";
  }
}

// ---- the residual add fused with the norm (residual_layernorm_forward, residual_rmsnorm_forward)

// Inputs drawn so that a + b spans about the range the norm tests above use, keeping their
// tolerances' reasoning: a in [-1.2, 1.4) plus b in [-0.5, 0.9) lies in [-1.7, 2.3).
constexpr float kResALo = -1.2f, kResAHi = 1.4f, kResBLo = -0.5f, kResBHi = 0.9f;

// n values uniform in [lo, hi) as stored in T (rounded for bf16) and their exact float values
template <class T>
struct Values {
  std::vector<T> t;
  Floats f;
};
template <class T>
Values<T> draw(size_t n, std::mt19937& rng, float lo, float hi) {
  Values<T> v;
  v.f = uniform(n, rng, lo, hi);
  if constexpr (std::is_same_v<T, float>) {
    v.t = v.f;
  } else {
    v.t = to_bf16(v.f);
    v.f = to_float(v.t);
  }
  return v;
}

struct FusedInputs {
  int N, C;
  bool with_bias;
};

template <class T>
struct FusedCase {
  Values<T> a, b, w, bias;
  int N, C;
  bool with_bias;
};
template <class T>
FusedCase<T> draw_fused(const FusedInputs& in, std::mt19937& rng) {
  const size_t NC = static_cast<size_t>(in.N) * in.C;
  return {draw<T>(NC, rng, kResALo, kResAHi), draw<T>(NC, rng, kResBLo, kResBHi),
          draw<T>(in.C, rng, 0.5f, 1.5f),     draw<T>(in.C, rng, -0.5f, 0.5f),
          in.N,                               in.C,
          in.with_bias};
}

// sum, out and the statistics as floats (mean stays empty for RMSNorm)
struct FusedOut {
  Floats sum, out, mean, rstd;
};

constexpr float kLnEps = 1e-5f, kRmsEps = 1e-6f;

// The CPU twins in sequence: residual_forward, the sum rounded to T as the GPU stores it, then
// the norm of the stored values.
template <class T>
FusedOut cpu_fused(bool rms, const FusedCase<T>& c) {
  const size_t NC = static_cast<size_t>(c.N) * c.C;
  FusedOut r{Floats(NC), Floats(NC), Floats(rms ? 0 : c.N), Floats(c.N)};
  merino::cpu::residual_forward<float>(r.sum.data(), c.a.f.data(), c.b.f.data(), NC);
  if constexpr (!std::is_same_v<T, float>) r.sum = to_float(to_bf16(r.sum));
  if (rms) {
    merino::cpu::rmsnorm_forward<float>(r.out.data(), r.rstd.data(), r.sum.data(), c.w.f.data(),
                                        c.N, c.C, kRmsEps);
  } else {
    merino::cpu::layernorm_forward<float>(r.out.data(), r.mean.data(), r.rstd.data(),
                                          r.sum.data(), c.w.f.data(),
                                          c.with_bias ? c.bias.f.data() : nullptr, c.N, c.C,
                                          kLnEps);
  }
  return r;
}

enum class SumAt { kOwnBuffer, kA, kB };  // where the fused kernel writes sum
const char* sum_at_name(SumAt at) {
  return at == SumAt::kA ? "sum == a" : at == SumAt::kB ? "sum == b" : "sum in its own buffer";
}

// Element offsets of the device pointers: 1 puts a pointer off 16-byte alignment.
struct Offsets {
  size_t a = 0, b = 0, sum = 0, out = 0, params = 0;
};

// The fused op on the GPU. Also checks that an input sum does not overwrite is left untouched.
template <class T>
FusedOut gpu_fused(bool rms, const FusedCase<T>& c, SumAt at, const Offsets& o = {}) {
  const size_t NC = static_cast<size_t>(c.N) * c.C;
  DeviceBuffer<T> d_a(c.a.t, o.a), d_b(c.b.t, o.b), d_sum(NC, o.sum), d_out(NC, o.out),
      d_w(c.w.t, o.params), d_bias(c.bias.t, o.params);
  DeviceBuffer<float> d_mean(c.N), d_rstd(c.N);
  const DeviceBuffer<T>& sum = at == SumAt::kA ? d_a : at == SumAt::kB ? d_b : d_sum;
  if (rms) {
    merino::cuda::residual_rmsnorm_forward(sum.get(), d_out.get(), d_rstd.get(), d_a.get(),
                                           d_b.get(), d_w.get(), c.N, c.C, kRmsEps);
  } else {
    merino::cuda::residual_layernorm_forward(sum.get(), d_out.get(), d_mean.get(), d_rstd.get(),
                                             d_a.get(), d_b.get(), d_w.get(),
                                             c.with_bias ? d_bias.get() : nullptr, c.N, c.C,
                                             kLnEps);
  }
  FusedOut r{to_float(sum.download()), to_float(d_out.download()),
             rms ? Floats() : d_mean.download(), d_rstd.download()};
  if (at != SumAt::kA) expect_bitwise_equal("a (not written)", to_float(d_a.download()), c.a.f);
  if (at != SumAt::kB) expect_bitwise_equal("b (not written)", to_float(d_b.download()), c.b.f);
  return r;
}

// sum is one fp32 add rounded to T on both sides: bitwise. out and the statistics carry the
// bounds of the plain norm tests (the reference normalises the same stored sums).
template <class T>
void expect_fused_matches(bool rms, const FusedOut& got, const FusedOut& ref) {
  constexpr bool kBf16 = !std::is_same_v<T, float>;
  expect_bitwise_equal("sum", got.sum, ref.sum);
  expect_close("out", got.out, ref.out, kBf16 ? 2 * kOutAtol : kOutAtol,
               kBf16 ? kBf16Rtol : kOutRtol);
  if (!rms) expect_close("mean", got.mean, ref.mean, kMeanAtol, 0.0);
  expect_close("rstd", got.rstd, ref.rstd, 0.0, kRstdRtol);
}

// Every norm case (N = 1, N not a multiple of a block's 8 rows, C off the pack: scalar path,
// C = 6200) with sum in its own buffer, in place over a (as the model calls it) and over b.
template <class T>
void fused_matches_cpu(bool rms, uint32_t seed) {
  std::mt19937 rng(seed);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const bool with_bias = case_index++ % 3 != 2;
    for (SumAt at : {SumAt::kOwnBuffer, SumAt::kA, SumAt::kB}) {
      SCOPED_TRACE(sum_at_name(at));
      const FusedCase<T> c = draw_fused<T>({tc.N, tc.C, with_bias}, rng);
      expect_fused_matches<T>(rms, gpu_fused<T>(rms, c, at), cpu_fused<T>(rms, c));
    }
  }
}

TEST(CudaNorms, ResidualLayerNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<float>(false, 301);
}
TEST(CudaNorms, ResidualRmsNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<float>(true, 302);
}
TEST(CudaNormsBf16, ResidualLayerNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<bf16>(false, 303);
}
TEST(CudaNormsBf16, ResidualRmsNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<bf16>(true, 304);
}

// C is a whole number of packs, but one (or every) pointer is an element off 16-byte
// alignment: the launcher must check each of a, b, sum, out, weight, bias and take the scalar
// path (a 128-bit access through any of them would fault).
template <class T>
void fused_unaligned_matches_cpu(uint32_t seed) {
  std::mt19937 rng(seed);
  const int N = 21, C = 256;
  struct Layout {
    const char* what;
    Offsets o;
    SumAt at;
  };
  const Layout layouts[] = {
      {"every pointer", {1, 1, 1, 1, 1}, SumAt::kOwnBuffer},
      {"a only, sum == a", {1, 0, 0, 0, 0}, SumAt::kA},
      {"b only", {0, 1, 0, 0, 0}, SumAt::kOwnBuffer},
      {"sum only", {0, 0, 1, 0, 0}, SumAt::kOwnBuffer},
      {"out only, sum == b", {0, 0, 0, 1, 0}, SumAt::kB},
      {"weight and bias only", {0, 0, 0, 0, 1}, SumAt::kA},
  };
  for (const Layout& l : layouts) {
    SCOPED_TRACE(std::string("unaligned: ") + l.what);
    for (bool rms : {false, true}) {
      SCOPED_TRACE(rms ? "RMSNorm" : "LayerNorm");
      const FusedCase<T> c = draw_fused<T>({N, C, true}, rng);
      expect_fused_matches<T>(rms, gpu_fused<T>(rms, c, l.at, l.o), cpu_fused<T>(rms, c));
    }
  }
}

TEST(CudaNorms, ResidualNormUnalignedPointersMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_unaligned_matches_cpu<float>(305);
}
TEST(CudaNormsBf16, ResidualNormUnalignedPointersMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_unaligned_matches_cpu<bf16>(306);
}

// The fused kernel does the same fp32 operations in the same order as residual_forward followed
// by the plain norm kernel, so on the same device every output must have the same bits.
template <class T>
void fused_is_bitwise_two_kernels(uint32_t seed) {
  std::mt19937 rng(seed);
  const NormCase cases[] = {{1, 768}, {37, 77}, {130, 1024}, {1000, 768}, {3, 6200}};
  for (const NormCase& tc : cases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    for (bool rms : {false, true}) {
      SCOPED_TRACE(rms ? "RMSNorm" : "LayerNorm");
      const FusedCase<T> c = draw_fused<T>({tc.N, tc.C, true}, rng);
      DeviceBuffer<T> d_a(c.a.t), d_b(c.b.t), d_w(c.w.t), d_bias(c.bias.t), d_sum(NC),
          d_out(NC), d_fused(c.a.t), d_fused_out(NC);
      DeviceBuffer<float> d_mean(tc.N), d_rstd(tc.N), d_fused_mean(tc.N), d_fused_rstd(tc.N);
      merino::cuda::residual_forward(d_sum.get(), d_a.get(), d_b.get(), NC);
      if (rms) {
        merino::cuda::rmsnorm_forward(d_out.get(), d_rstd.get(), d_sum.get(), d_w.get(), tc.N,
                                      tc.C, kRmsEps);
        merino::cuda::residual_rmsnorm_forward(d_fused.get(), d_fused_out.get(),
                                               d_fused_rstd.get(), d_fused.get(), d_b.get(),
                                               d_w.get(), tc.N, tc.C, kRmsEps);
      } else {
        merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_sum.get(),
                                        d_w.get(), d_bias.get(), tc.N, tc.C, kLnEps);
        merino::cuda::residual_layernorm_forward(
            d_fused.get(), d_fused_out.get(), d_fused_mean.get(), d_fused_rstd.get(),
            d_fused.get(), d_b.get(), d_w.get(), d_bias.get(), tc.N, tc.C, kLnEps);
        expect_bitwise_equal("mean", d_fused_mean.download(), d_mean.download());
      }
      expect_bitwise_equal("sum", to_float(d_fused.download()), to_float(d_sum.download()));
      expect_bitwise_equal("out", to_float(d_fused_out.download()), to_float(d_out.download()));
      expect_bitwise_equal("rstd", d_fused_rstd.download(), d_rstd.download());
    }
  }
}

TEST(CudaNorms, ResidualNormIsBitwiseTheTwoKernels) {
  REQUIRE_CUDA_DEVICE();
  fused_is_bitwise_two_kernels<float>(307);
}
TEST(CudaNormsBf16, ResidualNormIsBitwiseTheTwoKernels) {
  REQUIRE_CUDA_DEVICE();
  fused_is_bitwise_two_kernels<bf16>(308);
}

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

TEST(CudaCrossEntropy, ForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(11);
  for (const CeCase& tc : kCeCases) {
    SCOPED_TRACE("N=" + std::to_string(tc.N) + " V=" + std::to_string(tc.V));
    const Floats logits = uniform(static_cast<size_t>(tc.N) * tc.V, rng, -4.f, 4.f);
    const std::vector<int32_t> targets = ce_targets(tc, rng);
    Floats losses(tc.N);
    merino::cpu::crossentropy_forward<float>(losses.data(), logits.data(), targets.data(), tc.N,
                                             tc.V, tc.V, kIgnore);
    DeviceBuffer<float> d_logits(logits), d_losses(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    merino::cuda::crossentropy_forward(d_losses.get(), d_logits.get(), d_targets.get(), tc.N,
                                       tc.V, tc.V, kIgnore);
    const Floats got = d_losses.download();
    expect_close("losses", got, losses, kLossAtol, kLossRtol);
    if (tc.N > 2) {
      EXPECT_EQ(got[2], 0.f) << "ignored row";
    }
    EXPECT_EQ(d_logits.download(), logits) << "forward must leave the logits untouched";
  }
}

TEST(CudaCrossEntropy, ForwardBackwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(12);
  for (const CeCase& tc : kCeCases) {
    SCOPED_TRACE("N=" + std::to_string(tc.N) + " V=" + std::to_string(tc.V));
    const size_t NV = static_cast<size_t>(tc.N) * tc.V;
    Floats logits = uniform(NV, rng, -4.f, 4.f);
    const std::vector<int32_t> targets = ce_targets(tc, rng);
    const float scale = 1.0f / static_cast<float>(tc.N);
    DeviceBuffer<float> d_logits(logits), d_losses(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    Floats losses(tc.N);
    merino::cpu::crossentropy_forward_backward<float>(logits.data(), losses.data(),
                                                      targets.data(), tc.N, tc.V, tc.V, kIgnore,
                                                      scale);
    merino::cuda::crossentropy_forward_backward(d_logits.get(), d_losses.get(), d_targets.get(),
                                                tc.N, tc.V, tc.V, kIgnore, scale);
    const Floats dlogits = d_logits.download();
    expect_close("losses", d_losses.download(), losses, kLossAtol, kLossRtol);
    expect_close("dlogits", dlogits, logits, kGradAtolPerScale * scale, kGradRtol);
    if (tc.N > 2) {
      const auto row = dlogits.begin() + 2 * static_cast<size_t>(tc.V);
      EXPECT_TRUE(std::all_of(row, row + tc.V, [](float v) { return v == 0.f; }))
          << "ignored row must get an all-zero gradient";
    }
    // each non-ignored gradient row sums to scale * (1 - 1) = 0
    for (int r = 0; r < tc.N; ++r) {
      double s = 0.0;
      for (int v = 0; v < tc.V; ++v) s += dlogits[static_cast<size_t>(r) * tc.V + v];
      EXPECT_NEAR(s, 0.0, 1e-5 * scale) << "row " << r;
    }
  }
}

// bf16 logits (V = 50304, 1024: 8-element packs; 50257, 7, 13: scalar), fp32 losses, the
// gradient written over the logits in bf16.
TEST(CudaCrossEntropyBf16, ForwardAndForwardBackwardMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(13);
  for (const CeCase& tc : kCeCases) {
    SCOPED_TRACE("N=" + std::to_string(tc.N) + " V=" + std::to_string(tc.V));
    const size_t NV = static_cast<size_t>(tc.N) * tc.V;
    const Bf16Values logits = bf16_uniform(NV, rng, -4.f, 4.f);
    const std::vector<int32_t> targets = ce_targets(tc, rng);
    const float scale = 1.0f / static_cast<float>(tc.N);
    Floats dlogits_ref = logits.f, losses(tc.N);
    merino::cpu::crossentropy_forward_backward<float>(dlogits_ref.data(), losses.data(),
                                                      targets.data(), tc.N, tc.V, tc.V, kIgnore,
                                                      scale);
    DeviceBuffer<bf16> d_logits(logits.t), d_grad(logits.t);
    DeviceBuffer<float> d_losses(tc.N), d_losses_fb(tc.N);
    DeviceBuffer<int32_t> d_targets(targets);
    merino::cuda::crossentropy_forward(d_losses.get(), d_logits.get(), d_targets.get(), tc.N,
                                       tc.V, tc.V, kIgnore);
    merino::cuda::crossentropy_forward_backward(d_grad.get(), d_losses_fb.get(), d_targets.get(),
                                                tc.N, tc.V, tc.V, kIgnore, scale);
    expect_close("losses (forward)", d_losses.download(), losses, kLossAtol, kLossRtol);
    expect_close("losses (forward_backward)", d_losses_fb.download(), losses, kLossAtol,
                 kLossRtol);
    const std::vector<bf16> untouched = d_logits.download();
    EXPECT_EQ(std::memcmp(untouched.data(), logits.t.data(), NV * sizeof(bf16)), 0)
        << "forward must leave the logits untouched";
    const Floats dlogits = to_float(d_grad.download());
    expect_close("dlogits", dlogits, dlogits_ref, 2 * kGradAtolPerScale * scale, kBf16Rtol);
    if (tc.N > 2) {
      const auto row = dlogits.begin() + 2 * static_cast<size_t>(tc.V);
      EXPECT_TRUE(std::all_of(row, row + tc.V, [](float v) { return v == 0.f; }))
          << "ignored row must get an all-zero gradient";
    }
  }
}

// A padded vocabulary (rows ld apart, ld - V padding columns holding large values that must not
// be read): the losses and the scored columns' gradient are the CPU twin's on the compacted
// [N, V] logits, the padding columns' gradient is zero. ld = 16 and 1024 take the packed paths
// with the last pack partly padding; ld = 13 (V = 11) the scalar one. Kept small enough for an
// emulated device.
Floats widen(const Floats& v) { return v; }
Floats widen(const std::vector<bf16>& v) { return to_float(v); }

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
    std::vector<T> host;
    if constexpr (std::is_same_v<T, float>) host = padded;
    else host = to_bf16(padded);
    const Floats seen = widen(host);  // the values the device sees
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
    const Floats grad = widen(d_grad.download());
    Floats scored(compact.size());
    for (int r = 0; r < tc.N; ++r) {
      for (int v = 0; v < tc.ld; ++v) {
        const float g = grad[static_cast<size_t>(r) * tc.ld + v];
        if (v < tc.V) scored[static_cast<size_t>(r) * tc.V + v] = g;
        else EXPECT_EQ(g, 0.f) << "padding column " << v << " of row " << r;
      }
    }
    const double rtol = sizeof(T) == 2 ? kBf16Rtol : kGradRtol;
    expect_close("dlogits", scored, compact, 2 * kGradAtolPerScale * scale, rtol);
  }
}

TEST(CudaCrossEntropy, StridedRowsScoreOnlyTheFirstVColumns) {
  REQUIRE_CUDA_DEVICE();
  strided_ce_matches_compacted_cpu<float>(14);
}
TEST(CudaCrossEntropyBf16, StridedRowsScoreOnlyTheFirstVColumns) {
  REQUIRE_CUDA_DEVICE();
  strided_ce_matches_compacted_cpu<bf16>(15);
}

}  // namespace

// CUDA norms (kernels/cuda/norms.cu: LayerNorm, RMSNorm, each fused with the residual add)
// against their CPU twins (merino::cpu, kernels/cpu/norms.h) on seeded random inputs, including
// odd sizes: C not a multiple of the 16-byte pack (scalar path), N = 1, partial blocks, a C that
// needs opt-in shared memory, pointers off 16-byte alignment. The residual add fused with a norm
// is also checked against the two GPU kernels it replaces, bit for bit. Typed tests run for fp32
// and bf16 (CudaNorms/0.* and /1.*; in CTest CudaNorms.<Test><float> and <__nv_bfloat16>);
// every test first checks for a device and reports SKIPPED (never passes) when there is none.
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
// Mixed precision (bf16 activations and weights; fp32 statistics and parameter gradients): the
// CPU reference is the same fp32 twin run on the exact float values of the bf16 inputs, so every
// fp32 output keeps its fp32 bound, and a bf16 output (out, dinp) the bound of a value stored as
// bf16 (stored_atol / stored_rtol, mixed_precision_testing.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/norms.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/norms.cuh"
#include "tests/cuda/mixed_precision_testing.h"

namespace {

using namespace merino::testing;

// n values uniform in [lo, hi) as stored in T and their exact float values (the CPU twin's input)
template <class T>
using Values = HostTensor<T, float>;
template <class T>
Values<T> draw(size_t n, std::mt19937& rng, float lo, float hi) {
  return random_tensor<T, float>(n, rng, lo, hi);
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
// reduction (3 slices of 44 rows). bf16: C % 8 == 0 and aligned takes 8-element packs; C = 3, 4,
// 77 the scalar path.
const NormCase kNormCases[] = {{1, 77},    {37, 77},  {19, 3},    {5, 4},    {64, 768},
                               {130, 1024}, {643, 77}, {600, 128}, {3, 6200}, {2100, 96}};

constexpr float kLnEps = 1e-5f, kRmsEps = 1e-6f;

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

template <class T>
void expect_out_close(const DeviceBuffer<T>& got, const Floats& ref) {
  expect_close("out", to_float(got.download()), ref, stored_atol<T>(kOutAtol),
               stored_rtol<T>(kOutRtol));
}
template <class T>
void expect_dinp_close(const DeviceBuffer<T>& got, const Floats& ref) {
  expect_close("dinp", to_float(got.download()), ref, stored_atol<T>(kDinpAtol),
               stored_rtol<T>(kDinpRtol));
}

template <class T>
class CudaNorms : public ::testing::Test {};
TYPED_TEST_SUITE(CudaNorms, ElementTypes);

TYPED_TEST(CudaNorms, LayerNormForwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(1234);
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(with_bias ? "with bias" : "bias = null");
      const Values<T> inp = draw<T>(NC, rng, -1.7f, 2.3f);  // nonzero row means
      const Values<T> w = draw<T>(tc.C, rng, 0.5f, 1.5f), b = draw<T>(tc.C, rng, -0.5f, 0.5f);
      Floats out(NC), mean(tc.N), rstd(tc.N);
      merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.d.data(),
                                            w.d.data(), with_bias ? b.d.data() : nullptr, tc.N,
                                            tc.C, kLnEps);
      DeviceBuffer<T> d_inp(inp.t), d_w(w.t), d_b(b.t), d_out(NC);
      DeviceBuffer<float> d_mean(tc.N), d_rstd(tc.N);
      merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                      d_w.get(), with_bias ? d_b.get() : nullptr, tc.N, tc.C,
                                      kLnEps);
      expect_out_close(d_out, out);
      expect_close("mean", d_mean.download(), mean, kMeanAtol, 0.0);
      expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
    }
  }
}

// C is a whole number of packs but every pointer is one element off 16-byte alignment: forward
// and backward must take the scalar path.
TYPED_TEST(CudaNorms, LayerNormUnalignedPointersMatchCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(199);
  const int N = 21, C = 256;
  const size_t NC = static_cast<size_t>(N) * C;
  const Values<T> inp = draw<T>(NC, rng, -2.f, 2.f), w = draw<T>(C, rng, 0.5f, 1.5f),
                  b = draw<T>(C, rng, -0.5f, 0.5f), dout = draw<T>(NC, rng, -1.f, 1.f),
                  dinp0 = draw<T>(NC, rng, -1.f, 1.f);
  Floats out(NC), mean(N), rstd(N), dinp = dinp0.d, dw(C, 0.f), db(C, 0.f);
  merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.d.data(),
                                        w.d.data(), b.d.data(), N, C, kLnEps);
  merino::cpu::layernorm_backward<float>(dinp.data(), dw.data(), db.data(), dout.d.data(),
                                         inp.d.data(), w.d.data(), mean.data(), rstd.data(), N, C);
  DeviceBuffer<T> d_inp(inp.t, 1), d_w(w.t, 1), d_b(b.t, 1), d_out(NC, 1), d_dout(dout.t, 1),
      d_dinp(dinp0.t, 1);
  DeviceBuffer<float> d_mean(N), d_rstd(N), d_dw(Floats(C, 0.f)), d_db(Floats(C, 0.f));
  merino::cuda::layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(),
                                  d_w.get(), d_b.get(), N, C, kLnEps);
  expect_out_close(d_out, out);
  expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
  DeviceBuffer<float> d_mean_ref(mean), d_rstd_ref(rstd);
  merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(),
                                   d_inp.get(), d_w.get(), d_mean_ref.get(), d_rstd_ref.get(), N,
                                   C);
  expect_dinp_close(d_dinp, dinp);
  expect_close("dweight", d_dw.download(), dw, dparam_atol(N), kDparamRtol);
  expect_close("dbias", d_db.download(), db, dparam_atol(N), kDparamRtol);
}

// dout / inp / weight / dinp (+=, rounded once) in T, fp32 statistics and dweight / dbias (+=).
TYPED_TEST(CudaNorms, LayerNormBackwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(42);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool with_bias = case_index % 3 != 2;      // some cases pass dbias = null
    const bool own_scratch = case_index++ % 2 == 1;  // alternate both scratch paths
    const Values<T> inp = draw<T>(NC, rng, -1.7f, 2.3f), dout = draw<T>(NC, rng, -1.f, 1.f);
    const Values<T> w = draw<T>(tc.C, rng, 0.5f, 1.5f), dinp0 = draw<T>(NC, rng, -1.f, 1.f);
    const Floats b = uniform(tc.C, rng, -0.5f, 0.5f);
    // statistics from the CPU forward feed both backward passes, isolating backward
    Floats out(NC), mean(tc.N), rstd(tc.N);
    merino::cpu::layernorm_forward<float>(out.data(), mean.data(), rstd.data(), inp.d.data(),
                                          w.d.data(), b.data(), tc.N, tc.C, kLnEps);
    // nonzero initial gradients: the kernels must accumulate (+=), not overwrite
    Floats dinp = dinp0.d, dw = uniform(tc.C, rng, -1.f, 1.f), db = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<T> d_inp(inp.t), d_dout(dout.t), d_w(w.t), d_dinp(dinp0.t);
    DeviceBuffer<float> d_mean(mean), d_rstd(rstd), d_dw(dw), d_db(db);
    DeviceBuffer<float> d_scratch(merino::cuda::layernorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::layernorm_backward<float>(dinp.data(), dw.data(), with_bias ? db.data() : nullptr,
                                           dout.d.data(), inp.d.data(), w.d.data(), mean.data(),
                                           rstd.data(), tc.N, tc.C);
    merino::cuda::layernorm_backward(d_dinp.get(), d_dw.get(), with_bias ? d_db.get() : nullptr,
                                     d_dout.get(), d_inp.get(), d_w.get(), d_mean.get(),
                                     d_rstd.get(), tc.N, tc.C, 0,
                                     own_scratch ? d_scratch.get() : nullptr);
    expect_dinp_close(d_dinp, dinp);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
    // dbias = null must leave the bias gradient alone (db still holds its initial values)
    expect_close("dbias", d_db.download(), db, dparam_atol(tc.N), kDparamRtol);
  }
}

TYPED_TEST(CudaNorms, RmsNormForwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(7);
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const Values<T> inp = draw<T>(NC, rng, -1.7f, 2.3f), w = draw<T>(tc.C, rng, 0.5f, 1.5f);
    Floats out(NC), rstd(tc.N);
    merino::cpu::rmsnorm_forward<float>(out.data(), rstd.data(), inp.d.data(), w.d.data(), tc.N,
                                        tc.C, kRmsEps);
    DeviceBuffer<T> d_inp(inp.t), d_w(w.t), d_out(NC);
    DeviceBuffer<float> d_rstd(tc.N);
    merino::cuda::rmsnorm_forward(d_out.get(), d_rstd.get(), d_inp.get(), d_w.get(), tc.N, tc.C,
                                  kRmsEps);
    expect_out_close(d_out, out);
    expect_close("rstd", d_rstd.download(), rstd, 0.0, kRstdRtol);
  }
}

TYPED_TEST(CudaNorms, RmsNormBackwardMatchesCpu) {
  using T = TypeParam;
  REQUIRE_CUDA_DEVICE();
  std::mt19937 rng(8);
  int case_index = 0;
  for (const NormCase& tc : kNormCases) {
    SCOPED_TRACE(name(tc));
    const size_t NC = static_cast<size_t>(tc.N) * tc.C;
    const bool own_scratch = case_index++ % 2 == 0;
    const Values<T> inp = draw<T>(NC, rng, -1.7f, 2.3f), dout = draw<T>(NC, rng, -1.f, 1.f);
    const Values<T> w = draw<T>(tc.C, rng, 0.5f, 1.5f), dinp0 = draw<T>(NC, rng, -1.f, 1.f);
    Floats out(NC), rstd(tc.N);
    merino::cpu::rmsnorm_forward<float>(out.data(), rstd.data(), inp.d.data(), w.d.data(), tc.N,
                                        tc.C, kRmsEps);
    Floats dinp = dinp0.d, dw = uniform(tc.C, rng, -1.f, 1.f);
    DeviceBuffer<T> d_inp(inp.t), d_dout(dout.t), d_w(w.t), d_dinp(dinp0.t);
    DeviceBuffer<float> d_rstd(rstd), d_dw(dw);
    DeviceBuffer<float> d_scratch(merino::cuda::rmsnorm_backward_scratch_floats(tc.N, tc.C));
    merino::cpu::rmsnorm_backward<float>(dinp.data(), dw.data(), dout.d.data(), inp.d.data(),
                                         w.d.data(), rstd.data(), tc.N, tc.C);
    merino::cuda::rmsnorm_backward(d_dinp.get(), d_dw.get(), d_dout.get(), d_inp.get(),
                                   d_w.get(), d_rstd.get(), tc.N, tc.C, 0,
                                   own_scratch ? d_scratch.get() : nullptr);
    expect_dinp_close(d_dinp, dinp);
    expect_close("dweight", d_dw.download(), dw, dparam_atol(tc.N), kDparamRtol);
  }
}

// fp32 only: the order of the parameter-gradient reductions.

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
                                        b.data(), N, C, kLnEps);
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
                                        w.data(), b.data(), N, C, kLnEps);
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

// The CPU twins in sequence: residual_forward, the sum rounded to T as the GPU stores it, then
// the norm of the stored values.
template <class T>
FusedOut cpu_fused(bool rms, const FusedCase<T>& c) {
  const size_t NC = static_cast<size_t>(c.N) * c.C;
  FusedOut r{Floats(NC), Floats(NC), Floats(rms ? 0 : c.N), Floats(c.N)};
  merino::cpu::residual_forward<float>(r.sum.data(), c.a.d.data(), c.b.d.data(), NC);
  if constexpr (!std::is_same_v<T, float>) r.sum = to_float(to_bf16(r.sum));
  if (rms) {
    merino::cpu::rmsnorm_forward<float>(r.out.data(), r.rstd.data(), r.sum.data(), c.w.d.data(),
                                        c.N, c.C, kRmsEps);
  } else {
    merino::cpu::layernorm_forward<float>(r.out.data(), r.mean.data(), r.rstd.data(),
                                          r.sum.data(), c.w.d.data(),
                                          c.with_bias ? c.bias.d.data() : nullptr, c.N, c.C,
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
  if (at != SumAt::kA) expect_bitwise_equal("a (not written)", to_float(d_a.download()), c.a.d);
  if (at != SumAt::kB) expect_bitwise_equal("b (not written)", to_float(d_b.download()), c.b.d);
  return r;
}

// sum is one fp32 add rounded to T on both sides: bitwise. out and the statistics carry the
// bounds of the plain norm tests (the reference normalises the same stored sums).
template <class T>
void expect_fused_matches(bool rms, const FusedOut& got, const FusedOut& ref) {
  expect_bitwise_equal("sum", got.sum, ref.sum);
  expect_close("out", got.out, ref.out, stored_atol<T>(kOutAtol), stored_rtol<T>(kOutRtol));
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

TYPED_TEST(CudaNorms, ResidualLayerNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<TypeParam>(false, 301);
}
TYPED_TEST(CudaNorms, ResidualRmsNormForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_matches_cpu<TypeParam>(true, 302);
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

TYPED_TEST(CudaNorms, ResidualNormUnalignedPointersMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  fused_unaligned_matches_cpu<TypeParam>(305);
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

TYPED_TEST(CudaNorms, ResidualNormIsBitwiseTheTwoKernels) {
  REQUIRE_CUDA_DEVICE();
  fused_is_bitwise_two_kernels<TypeParam>(307);
}

}  // namespace

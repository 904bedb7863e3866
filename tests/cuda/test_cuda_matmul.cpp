// merino::cuda::Matmul (cuBLASLt, kernels/cuda/matmul.cuh) against the CPU twin
// merino::cpu::matmul_forward / matmul_backward run in double on the same input values, in fp32,
// TF32 and bf16. Shapes include N = 1, IC / OC that are not multiples of 8 (odd leading
// dimensions: cuBLASLt's low-alignment kernels), pointers offset by one element, a K = 3072
// reduction (GPT-2's MLP c_proj), several dbias chunks and a workspace too small for them.
// Backward starts from garbage in dinp (it must be overwritten) and nonzero dweight / dbias
// (they must accumulate). Every test reports SKIPPED without a device.
//
// Tolerances, with inputs uniform in [-1, 1] and s = sqrt(K) / 3 the typical size of a K-term
// dot product (its terms have standard deviation 1/3):
// * fp32: the GPU sums in fp32, the CPU reference in double. A sequential fp32 sum of K terms
//   (each GEMM thread runs an FMA chain along K) accumulates rounding errors like a random walk
//   over partial sums of size sqrt(k)/3, giving a standard deviation of 2^-24 K / (3 sqrt 6) =
//   1.35e-6 s at K = 3072; the worst of ~1e6 elements is ~5 standard deviations. Bound:
//   2e-5 s + 1e-5 |ref|, a factor >3 over that worst case; split-K only lowers the error.
// * TF32 rounds (or truncates) the inputs to 10 mantissa bits: up to 2^-10 relative per factor,
//   systematic under truncation (~1e-3 |ref|) plus random (~4e-4 s). Bound 4e-3 (s + |ref|).
// * bf16: the inputs are bf16 values (exact in double for the reference), products are exact in
//   fp32 and sums as fp32 above; the result is rounded to bf16 once (unit roundoff 2^-8), or
//   twice with the unfused bias epilogue (the product, then product + bias). Bound:
//   2e-5 s + 2e-3 + 1e-2 |ref|, which holds even for the double rounding.
// * mixed precision (bf16 inputs, fp32 dweight / dbias): the gradients are summed in fp32 and
//   never rounded to bf16, so they get the fp32 bound above; dinp is bf16 and gets the bf16 one.
// * fused GELU (cuBLASLt's epilogue): NVIDIA does not document its tanh's accuracy; a fast
//   hardware tanh (relative error ~2^-11) would be off by up to 2.5e-4 |x| in 0.5 x (1 + tanh).
//   Bound 5e-4 |pre| on top of the propagated pre-activation error. This would not tell an erf
//   GELU (<= 4.7e-4 from the tanh form) from the tanh form; a missing or wrong activation is
//   O(0.1..1) and fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/matmul.cuh"
#include "tests/cuda/mixed_precision_testing.h"

namespace {

using namespace merino::testing;

// Tolerance per type, see the top of the file: |diff| <= acc * s + atol + rtol |ref|.
template <class T>
struct Tol;
template <>
struct Tol<float> {
  static constexpr double kAcc = 2e-5, kAtol = 0.0, kRtol = 1e-5;
};
template <>
struct Tol<bf16> {
  static constexpr double kAcc = 2e-5, kAtol = 2e-3, kRtol = 1e-2;
};

// typical magnitude of a K-term sum of products of two uniform[-1, 1] numbers
double dot_scale(int K) { return std::sqrt(static_cast<double>(std::max(K, 1))) / 3.0; }

template <class T>
void expect_gemm_close(const std::string& what, const Doubles& got, const Doubles& ref, int K) {
  expect_close(what, got, ref, Tol<T>::kAcc * dot_scale(K) + Tol<T>::kAtol, Tol<T>::kRtol);
}

struct Shape {
  int N, IC, OC;
  size_t offset;  // elements by which every pointer is shifted off its 256-byte allocation
};

std::string name(const Shape& s) {
  return "N=" + std::to_string(s.N) + " IC=" + std::to_string(s.IC) +
         " OC=" + std::to_string(s.OC) + " offset=" + std::to_string(s.offset);
}

// N = 1; odd IC and OC; multiples of 8 (16-byte rows in bf16) with and without misaligned
// pointers; GPT-2 c_fc (768 -> 3072) and c_proj (3072 -> 768, K = 3072) on a slice of tokens.
const Shape kShapes[] = {{1, 64, 32, 0},     {1, 37, 19, 1},     {37, 77, 45, 0},
                         {5, 8, 16, 0},      {33, 770, 50, 0},   {40, 64, 96, 1},
                         {96, 768, 3072, 0}, {64, 3072, 768, 0}, {17, 768, 2304, 1}};

// CPU reference of the forward in double; bias may be null.
Doubles cpu_forward(const Doubles& inp, const Doubles& w, const Doubles* bias, int N, int IC,
                    int OC) {
  Doubles out(static_cast<size_t>(N) * OC);
  merino::cpu::matmul_forward<double>(out.data(), inp.data(), w.data(),
                                      bias ? bias->data() : nullptr, N, IC, OC);
  return out;
}

template <class T>
void forward_matches_cpu() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(17);
  for (const Shape& s : kShapes) {
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(name(s) + (with_bias ? " bias" : " no bias"));
      const size_t NI = size_t(s.N) * s.IC, NO = size_t(s.N) * s.OC, OI = size_t(s.OC) * s.IC;
      const auto inp = random_tensor<T>(NI, rng, -1, 1), w = random_tensor<T>(OI, rng, -1, 1);
      const auto b = random_tensor<T>(s.OC, rng, -0.5, 0.5);
      const Doubles ref = cpu_forward(inp.d, w.d, with_bias ? &b.d : nullptr, s.N, s.IC, s.OC);
      DeviceBuffer<T> d_inp(inp.t, s.offset), d_w(w.t, s.offset), d_b(b.t, s.offset),
          d_out(random_tensor<T>(NO, rng, -9, 9).t, s.offset);
      mm.forward<T>(d_out.get(), d_inp.get(), d_w.get(), with_bias ? d_b.get() : nullptr, s.N, s.IC,
                    s.OC);
      expect_gemm_close<T>("out", d_out.download_doubles(), ref, s.IC);
    }
  }
}
TEST_FP32_AND_BF16(CudaMatmul, ForwardMatchesCpu, forward_matches_cpu)

TEST(CudaMatmulTf32, ForwardWithinTf32Tolerance) {
  REQUIRE_CUDA_DEVICE();
  merino::cuda::Matmul mm;
  mm.allow_tf32(true);
  ASSERT_TRUE(mm.tf32());
  std::mt19937 rng(19);
  for (const Shape& s : {Shape{96, 768, 3072, 0}, Shape{37, 77, 45, 1}}) {
    SCOPED_TRACE(name(s));
    const auto inp = random_tensor<float>(size_t(s.N) * s.IC, rng, -1, 1);
    const auto w = random_tensor<float>(size_t(s.OC) * s.IC, rng, -1, 1);
    const auto b = random_tensor<float>(s.OC, rng, -0.5, 0.5);
    const Doubles ref = cpu_forward(inp.d, w.d, &b.d, s.N, s.IC, s.OC);
    DeviceBuffer<float> d_inp(inp.t, s.offset), d_w(w.t, s.offset), d_b(b.t, s.offset),
        d_out(size_t(s.N) * s.OC, s.offset);
    mm.forward<float>(d_out.get(), d_inp.get(), d_w.get(), d_b.get(), s.N, s.IC, s.OC);
    expect_close("out", d_out.download_doubles(), ref, 4e-3 * dot_scale(s.IC), 4e-3);
  }
}

// pre_gelu as forward; out = gelu(pre) with the tolerance for cuBLASLt's GELU (top of file).
// OC = 3072 and 96 can take the fused epilogue; OC = 45 and 19 (aux leading dimension not a
// multiple of 8) always take the GEMM + bias + gelu_forward fallback.
template <class T>
void forward_gelu_matches_cpu() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(23);
  const Shape shapes[] = {{96, 768, 3072, 0}, {40, 64, 96, 0}, {37, 77, 45, 0}, {1, 37, 19, 1}};
  for (const Shape& s : shapes) {
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(name(s) + (with_bias ? " bias" : " no bias"));
      const size_t NI = size_t(s.N) * s.IC, NO = size_t(s.N) * s.OC, OI = size_t(s.OC) * s.IC;
      // weights scaled by 3 / sqrt(IC): pre-activations ~ N(0, 1), spanning GELU's curved part
      const double wr = 3.0 / std::sqrt(static_cast<double>(s.IC));
      const auto inp = random_tensor<T>(NI, rng, -1, 1), w = random_tensor<T>(OI, rng, -wr, wr);
      const auto b = random_tensor<T>(s.OC, rng, -0.5, 0.5);
      const Doubles pre = cpu_forward(inp.d, w.d, with_bias ? &b.d : nullptr, s.N, s.IC, s.OC);
      Doubles out(NO);
      merino::cpu::gelu_forward<double>(out.data(), pre.data(), NO);

      DeviceBuffer<T> d_inp(inp.t, s.offset), d_w(w.t, s.offset), d_b(b.t, s.offset),
          d_out(NO, s.offset), d_pre(NO, s.offset);
      mm.forward_gelu<T>(d_out.get(), d_pre.get(), d_inp.get(), d_w.get(),
                         with_bias ? d_b.get() : nullptr, s.N, s.IC, s.OC);
      // |pre| ~ 1 here, so its scale is 1 (not dot_scale) times the accumulation coefficient
      const double pre_atol = Tol<T>::kAcc * std::sqrt(3.0) + Tol<T>::kAtol;
      expect_close("pre_gelu", d_pre.download_doubles(), pre, pre_atol, Tol<T>::kRtol);
      Doubles bound(NO);
      for (size_t i = 0; i < NO; ++i) {
        // gelu' <= 1.13 carries the pre-activation error over, then cuBLASLt's tanh, then the
        // output's own rounding
        const double pre_err = pre_atol + Tol<T>::kRtol * std::fabs(pre[i]);
        bound[i] = 1.13 * pre_err + 5e-4 * std::fabs(pre[i]) + Tol<T>::kRtol * std::fabs(out[i]);
      }
      expect_within("out", d_out.download_doubles(), out, bound);
    }
  }
}
TEST_FP32_AND_BF16(CudaMatmul, ForwardGeluMatchesCpu, forward_gelu_matches_cpu)

struct BackwardCase {
  Shape shape;
  bool with_dinp, with_dbias;
};

// N > 64: several 64-row dbias chunks (partial sums, then a second pass over them); N <= 64:
// one chunk (direct accumulation). dinp / dbias null in some cases.
const BackwardCase kBackwardCases[] = {
    {{1, 64, 32, 0}, true, true},     {{1, 37, 19, 1}, true, true},
    {{37, 77, 45, 0}, true, false},   {{33, 770, 50, 0}, false, true},
    {{40, 64, 96, 1}, true, true},    {{1000, 24, 40, 0}, true, true},
    {{2600, 16, 77, 1}, false, true}, {{96, 768, 3072, 0}, true, true},
    {{64, 3072, 768, 0}, true, true}, {{1000, 768, 768, 0}, true, true}};

// G: the type of dweight / dbias (T, or float beside bf16 T)
template <class T, class G = T>
void check_backward(merino::cuda::Matmul& mm, const BackwardCase& c, std::mt19937& rng) {
  const Shape& s = c.shape;
  SCOPED_TRACE(name(s) + (c.with_dinp ? "" : " dinp=null") + (c.with_dbias ? "" : " dbias=null"));
  const size_t NI = size_t(s.N) * s.IC, NO = size_t(s.N) * s.OC, OI = size_t(s.OC) * s.IC;
  const auto inp = random_tensor<T>(NI, rng, -1, 1), w = random_tensor<T>(OI, rng, -1, 1);
  const auto dout = random_tensor<T>(NO, rng, -1, 1);
  const auto dw0 = random_tensor<G>(OI, rng, -1, 1), db0 = random_tensor<G>(s.OC, rng, -1, 1);
  const auto garbage = random_tensor<T>(NI, rng, -9, 9);

  Doubles dinp(NI), dw = dw0.d, db = db0.d;
  merino::cpu::matmul_backward<double>(c.with_dinp ? dinp.data() : nullptr, dw.data(),
                                       c.with_dbias ? db.data() : nullptr, dout.d.data(),
                                       inp.d.data(), w.d.data(), s.N, s.IC, s.OC);

  DeviceBuffer<T> d_inp(inp.t, s.offset), d_w(w.t, s.offset), d_dout(dout.t, s.offset),
      d_dinp(garbage.t, s.offset);
  DeviceBuffer<G> d_dw(dw0.t, s.offset), d_db(db0.t, s.offset);
  mm.backward<T, G>(c.with_dinp ? d_dinp.get() : nullptr, d_dw.get(),
                    c.with_dbias ? d_db.get() : nullptr, d_dout.get(), d_inp.get(), d_w.get(),
                    s.N, s.IC, s.OC);
  if (c.with_dinp) expect_gemm_close<T>("dinp", d_dinp.download_doubles(), dinp, s.OC);
  expect_gemm_close<G>("dweight", d_dw.download_doubles(), dw, s.N);
  // dbias sums N values of standard deviation 1/sqrt(3), sqrt(3) times a product's: the
  // accumulation bound is scaled accordingly
  if (c.with_dbias) {
    expect_close("dbias", d_db.download_doubles(), db,
                 Tol<G>::kAcc * std::sqrt(3.0) * dot_scale(s.N) + Tol<G>::kAtol, Tol<G>::kRtol);
  } else {
    expect_close("dbias untouched", d_db.download_doubles(), db0.d, 0.0, 0.0);
  }
}

template <class T>
void backward_matches_cpu() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(29);
  for (const BackwardCase& c : kBackwardCases) check_backward<T>(mm, c, rng);
}
TEST_FP32_AND_BF16(CudaMatmul, BackwardMatchesCpu, backward_matches_cpu)

// backward_gelu against the unfused CPU reference in double (matmul_backward, then
// gelu_backward of dinp with the pre-activation): IC = 3072 and 64 take cuBLASLt's DGELU
// epilogue, IC = 77 (aux leading dimension not a multiple of 8) and the misaligned pointers the
// fallback. dpre's bound: the input-gradient GEMM's, carried by gelu' <= 1.13, plus cuBLASLt's
// tanh (as for the forward epilogue, 5e-4 relative, here scaled by |dinp| (1 + |pre|) through
// gelu'' ) and dpre's own rounding. Two identical calls give identical bits.
template <class T, class G>
void check_backward_gelu(merino::cuda::Matmul& mm, const Shape& s, std::mt19937& rng) {
  SCOPED_TRACE(name(s));
  const size_t NI = size_t(s.N) * s.IC, NO = size_t(s.N) * s.OC, OI = size_t(s.OC) * s.IC;
  const auto pre = random_tensor<T>(NI, rng, -3, 3), w = random_tensor<T>(OI, rng, -1, 1);
  const auto dout = random_tensor<T>(NO, rng, -1, 1);
  const auto dw0 = random_tensor<G>(OI, rng, -1, 1), db0 = random_tensor<G>(s.OC, rng, -1, 1);
  Doubles gelu(NI);  // the layer's input, gelu(pre), as the forward stored it in T
  merino::cpu::gelu_forward<double>(gelu.data(), pre.d.data(), NI);
  std::vector<T> inp_t(NI);
  Doubles inp_seen(NI);
  for (size_t i = 0; i < NI; ++i) {
    inp_t[i] = round_to<T>(gelu[i]);
    inp_seen[i] = to_double(inp_t[i]);
  }

  Doubles dinp(NI), dpre(NI), dw = dw0.d, db = db0.d;
  merino::cpu::matmul_backward<double>(dinp.data(), dw.data(), db.data(), dout.d.data(),
                                       inp_seen.data(), w.d.data(), s.N, s.IC, s.OC);
  merino::cpu::gelu_backward<double>(dpre.data(), dinp.data(), pre.d.data(), NI);

  DeviceBuffer<T> d_pre(pre.t, s.offset), d_inp(inp_t, s.offset), d_w(w.t, s.offset),
      d_dout(dout.t, s.offset), d_dpre(random_tensor<T>(NI, rng, -9, 9).t, s.offset);
  DeviceBuffer<G> d_dw(dw0.t, s.offset), d_db(db0.t, s.offset);
  std::vector<T> first;
  for (int run = 0; run < 2; ++run) {
    d_dw.upload(dw0.t);
    d_db.upload(db0.t);
    mm.backward_gelu<T, G>(d_dpre.get(), d_dw.get(), d_db.get(), d_dout.get(), d_inp.get(),
                           d_pre.get(), d_w.get(), s.N, s.IC, s.OC);
    const std::vector<T> got = d_dpre.download();
    if (run == 0) {
      first = got;
      continue;
    }
    EXPECT_EQ(std::memcmp(got.data(), first.data(), got.size() * sizeof(T)), 0)
        << "dpre differs between two identical calls";
  }
  Doubles bound(NI);
  const double gemm_atol = Tol<T>::kAcc * dot_scale(s.OC) + Tol<T>::kAtol;
  for (size_t i = 0; i < NI; ++i) {
    const double g = std::fabs(dinp[i]);
    bound[i] = 1.13 * (gemm_atol + Tol<T>::kRtol * g) + 5e-4 * g * (1 + std::fabs(pre.d[i])) +
               Tol<T>::kRtol * std::fabs(dpre[i]);
  }
  expect_within("dpre", d_dpre.download_doubles(), dpre, bound);
  expect_gemm_close<G>("dweight", d_dw.download_doubles(), dw, s.N);
  expect_close("dbias", d_db.download_doubles(), db,
               Tol<G>::kAcc * std::sqrt(3.0) * dot_scale(s.N) + Tol<G>::kAtol, Tol<G>::kRtol);
}

template <class T>
void backward_gelu_matches_unfused_cpu() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(47);
  for (const Shape& s : {Shape{64, 3072, 768, 0}, Shape{40, 64, 96, 0}, Shape{37, 77, 45, 0},
                         Shape{40, 64, 96, 1}}) {
    check_backward_gelu<T, T>(mm, s, rng);
  }
}
TEST_FP32_AND_BF16(CudaMatmul, BackwardGeluMatchesUnfusedCpu, backward_gelu_matches_unfused_cpu)

TEST(CudaMatmul, BackwardGeluBf16WithFp32GradientsMatchesUnfusedCpu) {
  REQUIRE_CUDA_DEVICE();
  merino::cuda::Matmul mm;
  std::mt19937 rng(53);
  check_backward_gelu<bf16, float>(mm, {64, 3072, 768, 0}, rng);
  check_backward_gelu<bf16, float>(mm, {37, 77, 45, 0}, rng);
}

// Mixed precision: bf16 activations and weights, fp32 parameter gradients accumulated by the
// GEMM (bf16 A / B, fp32 C / D) and by the column sums, never rounded to bf16.
TEST(CudaMatmul, BackwardBf16WithFp32GradientsMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  merino::cuda::Matmul mm;
  std::mt19937 rng(43);
  for (const BackwardCase& c : kBackwardCases) check_backward<bf16, float>(mm, c, rng);
  merino::cuda::Matmul small(1024);  // several dbias chunks through a small workspace
  check_backward<bf16, float>(small, {{2600, 16, 40, 0}, true, true}, rng);
}

// Workspaces of 1 KiB (dbias partials capped at 1024 / (4 OC) chunks: N = 2600 rows in 6 chunks
// of 434) and of 0 bytes (one chunk, direct accumulation); cuBLASLt must make do as well.
template <class T>
void backward_with_small_workspace_matches_cpu() {
  std::mt19937 rng(31);
  for (size_t bytes : {size_t(1024), size_t(0)}) {
    SCOPED_TRACE("workspace " + std::to_string(bytes) + " bytes");
    merino::cuda::Matmul mm(bytes);
    check_backward<T>(mm, {{2600, 16, 40, 0}, true, true}, rng);
    check_backward<T>(mm, {{300, 64, 77, 1}, true, true}, rng);
  }
}
TEST_FP32_AND_BF16(CudaMatmul, BackwardWithSmallWorkspaceMatchesCpu,
                   backward_with_small_workspace_matches_cpu)

// Same inputs and initial gradients twice: bitwise identical dinp, dweight, dbias (cuBLAS is
// reproducible run to run on one GPU; the dbias reduction has a fixed order and no atomics).
template <class T>
void backward_is_deterministic() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(37);
  const int N = 1000, IC = 768, OC = 768;
  const auto inp = random_tensor<T>(size_t(N) * IC, rng, -1, 1);
  const auto w = random_tensor<T>(size_t(OC) * IC, rng, -1, 1);
  const auto dout = random_tensor<T>(size_t(N) * OC, rng, -1, 1);
  const auto dw0 = random_tensor<T>(size_t(OC) * IC, rng, -1, 1);
  const auto db0 = random_tensor<T>(OC, rng, -1, 1);
  DeviceBuffer<T> d_inp(inp.t), d_w(w.t), d_dout(dout.t), d_dinp(size_t(N) * IC), d_dw(dw0.t),
      d_db(db0.t);
  std::vector<std::vector<T>> first;
  for (int run = 0; run < 2; ++run) {
    d_dw.upload(dw0.t);
    d_db.upload(db0.t);
    mm.backward<T>(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(), d_inp.get(), d_w.get(), N,
                   IC, OC);
    const std::vector<std::vector<T>> got = {d_dinp.download(), d_dw.download(), d_db.download()};
    if (run == 0) {
      first = got;
      continue;
    }
    const char* names[] = {"dinp", "dweight", "dbias"};
    for (int k = 0; k < 3; ++k) {
      ASSERT_EQ(got[k].size(), first[k].size());
      EXPECT_EQ(std::memcmp(got[k].data(), first[k].data(), got[k].size() * sizeof(T)), 0)
          << names[k] << " differs between two identical runs";
    }
  }
}
TEST_FP32_AND_BF16(CudaMatmul, BackwardIsDeterministic, backward_is_deterministic)

// IC = 0: out = bias broadcast (or zeros), an empty product; OC = 0 or N = 0 in backward: dinp
// is an empty sum (zeros) and the parameter gradients keep their values. As the CPU twin.
template <class T>
void empty_dimensions_match_cpu() {
  merino::cuda::Matmul mm;
  std::mt19937 rng(41);
  const int N = 5, OC = 12;
  const auto b = random_tensor<T>(OC, rng, -1, 1);
  Doubles ref(size_t(N) * OC), gelu_ref(ref.size());
  merino::cpu::matmul_forward<double>(ref.data(), nullptr, nullptr, b.d.data(), N, 0, OC);
  merino::cpu::gelu_forward<double>(gelu_ref.data(), ref.data(), ref.size());
  DeviceBuffer<T> d_b(b.t), d_out(random_tensor<T>(ref.size(), rng, -9, 9).t), d_pre(ref.size());
  mm.forward<T>(d_out.get(), nullptr, nullptr, d_b.get(), N, 0, OC);
  expect_close("out (IC = 0)", d_out.download_doubles(), ref, 0.0, 0.0);
  mm.forward_gelu<T>(d_out.get(), d_pre.get(), nullptr, nullptr, d_b.get(), N, 0, OC);
  expect_close("pre_gelu (IC = 0)", d_pre.download_doubles(), ref, 0.0, 0.0);
  expect_close("out = gelu(bias)", d_out.download_doubles(), gelu_ref, 1e-6,
               1e-5 + (std::is_same<T, bf16>::value ? 5e-3 : 0.0));

  const int IC = 7;
  const auto dinp0 = random_tensor<T>(size_t(N) * IC, rng, 1, 2);
  const auto dw0 = random_tensor<T>(size_t(OC) * IC, rng, -1, 1);
  DeviceBuffer<T> d_dinp(dinp0.t), d_dw(dw0.t), d_db(b.t);
  mm.backward<T>(d_dinp.get(), d_dw.get(), d_db.get(), nullptr, nullptr, nullptr, N, IC, 0);
  const std::vector<T> dinp = d_dinp.download();
  for (const T& x : dinp) ASSERT_EQ(merino::testing::to_double(x), 0.0) << "dinp not zeroed";
  mm.backward<T>(d_dinp.get(), d_dw.get(), d_db.get(), nullptr, nullptr, nullptr, 0, IC, OC);
  expect_close("dweight untouched", d_dw.download_doubles(), dw0.d, 0.0, 0.0);
  expect_close("dbias untouched", d_db.download_doubles(), b.d, 0.0, 0.0);
}
TEST_FP32_AND_BF16(CudaMatmul, EmptyDimensionsMatchCpu, empty_dimensions_match_cpu)

// Bad arguments are rejected before anything is queued, with the offending name in the message.
template <class T>
void rejects_invalid_arguments() {
  merino::cuda::Matmul mm;
  DeviceBuffer<T> a(64), b(64), c(64);
  const auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no std::invalid_argument");
  };
  EXPECT_NE(message([&] {
              mm.forward<T>(c.get(), a.get(), b.get(), nullptr, -1, 4, 4);
            }).find("negative size"),
            std::string::npos);
  EXPECT_NE(message([&] {
              mm.forward<T>(c.get(), a.get(), nullptr, nullptr, 2, 4, 4);
            }).find("weight is null"),
            std::string::npos);
  EXPECT_NE(message([&] {
              mm.forward_gelu<T>(c.get(), nullptr, a.get(), b.get(), nullptr, 2, 4, 4);
            }).find("pre_gelu is null"),
            std::string::npos);
  EXPECT_NE(message([&] {
              mm.backward<T, T>(c.get(), nullptr, nullptr, a.get(), a.get(), b.get(), 2, 4, 4);
            }).find("dweight is null"),
            std::string::npos);
  EXPECT_EQ(mm.plan_count(), 0u) << "a rejected call must not build a plan";
}
TEST_FP32_AND_BF16(CudaMatmul, RejectsInvalidArguments, rejects_invalid_arguments)

// A plan per distinct GEMM configuration: repeating a call reuses its plans; a new shape or a
// differently aligned pointer adds plans; backward adds exactly its two GEMMs (dinp, dweight).
// A bias epilogue that cuBLASLt cannot fuse costs a second (plain) plan, so forward counts are
// compared rather than fixed.
template <class T>
void plans_are_cached_per_configuration() {
  merino::cuda::Matmul mm;
  const int N = 16, IC = 32, OC = 64;
  const std::vector<T> zero_rows(size_t(N + 1) * IC), zero_w(size_t(OC) * IC), zero_oc(OC);
  DeviceBuffer<T> inp(zero_rows), w(zero_w), bias(zero_oc), out(size_t(N + 1) * OC),
      out_off(size_t(N) * OC, 1), dinp(size_t(N) * IC), dw(zero_w), db(zero_oc);
  const auto forward = [&](T* o, int rows) {
    mm.forward<T>(o, inp.get(), w.get(), bias.get(), rows, IC, OC);
  };
  forward(out.get(), N);
  const size_t first = mm.plan_count();
  EXPECT_GE(first, 1u);
  forward(out.get(), N);
  EXPECT_EQ(mm.plan_count(), first) << "same configuration must reuse its plans";
  forward(out_off.get(), N);
  const size_t misaligned = mm.plan_count();
  EXPECT_GT(misaligned, first) << "a misaligned output needs its own algorithm";
  forward(out_off.get(), N);
  EXPECT_EQ(mm.plan_count(), misaligned);
  forward(out.get(), N + 1);
  const size_t shapes = mm.plan_count();
  EXPECT_GT(shapes, misaligned) << "another shape needs its own plan";
  mm.backward<T>(dinp.get(), dw.get(), db.get(), out.get(), inp.get(), w.get(), N, IC, OC);
  EXPECT_EQ(mm.plan_count(), shapes + 2);
  mm.backward<T>(dinp.get(), dw.get(), db.get(), out.get(), inp.get(), w.get(), N, IC, OC);
  EXPECT_EQ(mm.plan_count(), shapes + 2);
  CUDA_CHECK(cudaDeviceSynchronize());
}
TEST_FP32_AND_BF16(CudaMatmul, PlansAreCachedPerConfiguration, plans_are_cached_per_configuration)

// The output type is part of a plan's key: the same bf16 backward with fp32 gradients reuses the
// dinp plan (bf16 -> bf16) and adds exactly one, the bf16 -> fp32 dweight GEMM.
TEST(CudaMatmul, PlansAreKeyedByOutputType) {
  REQUIRE_CUDA_DEVICE();
  merino::cuda::Matmul mm;
  const int N = 16, IC = 32, OC = 64;
  DeviceBuffer<bf16> inp(std::vector<bf16>(size_t(N) * IC)), w(std::vector<bf16>(size_t(OC) * IC)),
      dout(std::vector<bf16>(size_t(N) * OC)), dinp(size_t(N) * IC), dw_bf16(size_t(OC) * IC);
  DeviceBuffer<float> dw{Floats(size_t(OC) * IC)}, db{Floats(OC)};
  mm.backward<bf16, bf16>(dinp.get(), dw_bf16.get(), nullptr, dout.get(), inp.get(), w.get(), N,
                          IC, OC);
  EXPECT_EQ(mm.plan_count(), 2u);
  mm.backward<bf16, float>(dinp.get(), dw.get(), db.get(), dout.get(), inp.get(), w.get(), N, IC,
                           OC);
  EXPECT_EQ(mm.plan_count(), 3u);
  mm.backward<bf16, float>(dinp.get(), dw.get(), db.get(), dout.get(), inp.get(), w.get(), N, IC,
                           OC);
  EXPECT_EQ(mm.plan_count(), 3u);
  CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace

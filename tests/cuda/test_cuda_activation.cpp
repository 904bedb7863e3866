// CUDA element-wise kernels (kernels/cuda/activation.cuh) against their CPU twins
// (kernels/cpu/activation.h, elementwise.h) on seeded random inputs, in fp32 and bf16. Sizes
// cover the 16-byte vector path (multiples of 4 / 8 elements, aligned pointers), its scalar tail
// (n = 37, 100003), pure scalar fallbacks (pointers offset by one element; SwiGLU widths that
// are not whole packs) and n = 1. Every test reports SKIPPED without a device.
//
// Tolerances. The reference is the CPU twin run in float on the same input values (bf16 inputs
// are exact in float), so only the evaluation differs:
// * ReLU, residual add and accumulate are exact in IEEE fp32 on both sides (one max or one add),
//   and a bf16 output is that fp32 value rounded to nearest even, which the host reproduces
//   bit for bit (__float2bfloat16_rn): compared for equality.
// * GELU and SwiGLU compose ~10 fp32 operations with one expf (CUDA's expf is within 2 ulp,
//   glibc's within 1). For |x| <= 8 every intermediate term is O(1..10) and each op adds at most
//   ~1 ulp (6e-8 relative), so outputs agree to a few 1e-6 relative; backward ops add terms of
//   opposite sign (gelu' crosses zero near x = -0.75), so their error is a few 1e-7 absolute
//   times the largest term. Bound: 1e-6 + 1e-5 |ref| (forward), 1e-5 + 1e-5 |ref| (backward):
//   a factor >3 over those estimates, while an indexing or formula bug is O(0.1..1).
// * bf16 outputs are rounded once more, by at most the unit roundoff 2^-8 = 3.9e-3 relative:
//   rtol 5e-3 on top of the fp32 bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/activation.cuh"
#include "tests/cuda/mixed_precision_testing.h"

namespace {

using namespace merino::testing;

constexpr double kFwdAtol = 1e-6, kBwdAtol = 1e-5, kFp32Rtol = 1e-5;
template <class T>
constexpr double kRoundRtol = 0.0;
template <>
constexpr double kRoundRtol<bf16> = 5e-3;

// n = 1; 7 and 37 (shorter than / not a multiple of a pack: scalar tail); 4096 (packs only);
// 100003 (many grid-stride packs plus a tail).
const size_t kSizes[] = {1, 7, 37, 4096, 100003};
// pointer offset in elements: 0 = 16-byte aligned (vector path), 1 = misaligned (scalar path)
const size_t kOffsets[] = {0, 1};

std::string where(size_t n, size_t offset) {
  return "n=" + std::to_string(n) + " offset=" + std::to_string(offset);
}

// CPU float result of a float twin on float copies of T inputs, as doubles; with exact = true,
// first rounded to T (what the GPU must reproduce bit for bit).
template <class T>
Doubles result_as(const std::vector<float>& r, bool exact) {
  Doubles d(r.size());
  for (size_t i = 0; i < r.size(); ++i) d[i] = exact ? to_double(round_to<T>(r[i])) : r[i];
  return d;
}

// Random inputs in [lo, hi] whose first element is hi / 2 > 0: at n = 1 a single negative input
// would make a ReLU's reference all zero, which expect_close refuses as a vacuous comparison.
template <class T>
HostTensor<T> inputs_with_a_positive(size_t n, std::mt19937& rng, double lo, double hi) {
  HostTensor<T> h = random_tensor<T>(n, rng, lo, hi);
  h.t[0] = round_to<T>(hi / 2);
  h.d[0] = to_double(h.t[0]);
  return h;
}

// Unary forward op: op_gpu(out, inp, n), op_cpu(out, inp, n).
template <class T, class Gpu, class Cpu>
void check_unary(const char* name, Gpu op_gpu, Cpu op_cpu, double lo, double hi, bool exact,
                 double atol) {
  std::mt19937 rng(7);
  for (size_t n : kSizes) {
    for (size_t off : kOffsets) {
      SCOPED_TRACE(where(n, off));
      const auto inp = inputs_with_a_positive<T>(n, rng, lo, hi);
      std::vector<float> ref(n);
      op_cpu(ref.data(), to_float(inp.t).data(), n);
      // the output starts as garbage: the kernel must overwrite every element
      DeviceBuffer<T> d_inp(inp.t, off), d_out(random_tensor<T>(n, rng, -9, 9).t, off);
      op_gpu(d_out.get(), d_inp.get(), n);
      if (exact) {
        expect_close(name, d_out.download_doubles(), result_as<T>(ref, true), 0.0, 0.0);
      } else {
        expect_close(name, d_out.download_doubles(), result_as<T>(ref, false), atol,
                     kFp32Rtol + kRoundRtol<T>);
      }
    }
  }
}

// Binary op: op_gpu(out, a, b, n), op_cpu(out, a, b, n) (backward ops: a = dout, b = inp).
template <class T, class Gpu, class Cpu>
void check_binary(const char* name, Gpu op_gpu, Cpu op_cpu, double lo, double hi, bool exact,
                  double atol) {
  std::mt19937 rng(11);
  for (size_t n : kSizes) {
    for (size_t off : kOffsets) {
      SCOPED_TRACE(where(n, off));
      const auto a = random_tensor<T>(n, rng, -1, 1);
      const auto b = inputs_with_a_positive<T>(n, rng, lo, hi);
      std::vector<float> ref(n);
      op_cpu(ref.data(), to_float(a.t).data(), to_float(b.t).data(), n);
      DeviceBuffer<T> d_a(a.t, off), d_b(b.t, off), d_out(random_tensor<T>(n, rng, -9, 9).t, off);
      op_gpu(d_out.get(), d_a.get(), d_b.get(), n);
      if (exact) {
        expect_close(name, d_out.download_doubles(), result_as<T>(ref, true), 0.0, 0.0);
      } else {
        expect_close(name, d_out.download_doubles(), result_as<T>(ref, false), atol,
                     kFp32Rtol + kRoundRtol<T>);
      }
    }
  }
}

// Inputs in [-8, 8] reach both GELU tails (sigmoid(2u) ~ 1e-21 at x = -8).
template <class T>
void gelu_forward_matches_cpu() {
  check_unary<T>(
      "gelu_forward", [](T* o, const T* i, size_t n) { merino::cuda::gelu_forward<T>(o, i, n); },
      [](float* o, const float* i, size_t n) { merino::cpu::gelu_forward<float>(o, i, n); }, -8, 8,
      false, kFwdAtol);
}
TEST_FP32_AND_BF16(CudaActivation, GeluForwardMatchesCpu, gelu_forward_matches_cpu)

template <class T>
void gelu_backward_matches_cpu() {
  check_binary<T>(
      "gelu_backward",
      [](T* d, const T* g, const T* x, size_t n) { merino::cuda::gelu_backward<T>(d, g, x, n); },
      [](float* d, const float* g, const float* x, size_t n) {
        merino::cpu::gelu_backward<float>(d, g, x, n);
      },
      -8, 8, false, kBwdAtol);
}
TEST_FP32_AND_BF16(CudaActivation, GeluBackwardMatchesCpu, gelu_backward_matches_cpu)

template <class T>
void relu_forward_is_exact() {
  check_unary<T>(
      "relu_forward", [](T* o, const T* i, size_t n) { merino::cuda::relu_forward<T>(o, i, n); },
      [](float* o, const float* i, size_t n) { merino::cpu::relu_forward<float>(o, i, n); }, -2, 2,
      true, 0.0);
}
TEST_FP32_AND_BF16(CudaActivation, ReluForwardIsExact, relu_forward_is_exact)

template <class T>
void relu_backward_is_exact() {
  check_binary<T>(
      "relu_backward",
      [](T* d, const T* g, const T* x, size_t n) { merino::cuda::relu_backward<T>(d, g, x, n); },
      [](float* d, const float* g, const float* x, size_t n) {
        merino::cpu::relu_backward<float>(d, g, x, n);
      },
      -2, 2, true, 0.0);
}
TEST_FP32_AND_BF16(CudaActivation, ReluBackwardIsExact, relu_backward_is_exact)

template <class T>
void residual_forward_is_exact() {
  check_binary<T>(
      "residual_forward",
      [](T* o, const T* a, const T* b, size_t n) { merino::cuda::residual_forward<T>(o, a, b, n); },
      [](float* o, const float* a, const float* b, size_t n) {
        merino::cpu::residual_forward<float>(o, a, b, n);
      },
      -3, 3, true, 0.0);
}
TEST_FP32_AND_BF16(CudaActivation, ResidualForwardIsExact, residual_forward_is_exact)

// accumulate adds into dst (+=); residual_forward may write over one of its inputs.
template <class T>
void accumulate_and_in_place_residual_are_exact() {
  std::mt19937 rng(5);
  for (size_t n : kSizes) {
    for (size_t off : kOffsets) {
      SCOPED_TRACE(where(n, off));
      const auto dst = random_tensor<T>(n, rng, -3, 3), src = random_tensor<T>(n, rng, -3, 3);
      std::vector<float> ref = to_float(dst.t);
      merino::cpu::accumulate<float>(ref.data(), to_float(src.t).data(), n);
      const Doubles want = result_as<T>(ref, true);

      DeviceBuffer<T> d_dst(dst.t, off), d_src(src.t, off);
      merino::cuda::accumulate<T>(d_dst.get(), d_src.get(), n);
      expect_close("accumulate", d_dst.download_doubles(), want, 0.0, 0.0);

      DeviceBuffer<T> d_a(dst.t, off);  // out aliases a
      merino::cuda::residual_forward<T>(d_a.get(), d_a.get(), d_src.get(), n);
      expect_close("residual_forward in place", d_a.download_doubles(), want, 0.0, 0.0);
    }
  }
}
TEST_FP32_AND_BF16(CudaActivation, AccumulateAndInPlaceResidualAreExact,
                   accumulate_and_in_place_residual_are_exact)

struct SwigluCase {
  int N, F;
};

// F = 1, 37 (scalar path in both types), 36 (fp32 packs, bf16 scalar), 64 and 768 (packs in
// both); N = 1 and odd row counts.
const SwigluCase kSwigluCases[] = {{1, 1}, {3, 37}, {5, 36}, {37, 64}, {64, 768}, {1, 768}};

template <class T>
void swiglu_forward_matches_cpu() {
  std::mt19937 rng(3);
  for (const SwigluCase& c : kSwigluCases) {
    for (size_t off : kOffsets) {
      SCOPED_TRACE("N=" + std::to_string(c.N) + " F=" + std::to_string(c.F) +
                   " offset=" + std::to_string(off));
      const size_t NF = static_cast<size_t>(c.N) * c.F;
      const auto inp = random_tensor<T>(2 * NF, rng, -8, 8);
      std::vector<float> ref(NF);
      merino::cpu::swiglu_forward<float>(ref.data(), to_float(inp.t).data(), c.N, c.F);
      DeviceBuffer<T> d_inp(inp.t, off), d_out(random_tensor<T>(NF, rng, -9, 9).t, off);
      merino::cuda::swiglu_forward<T>(d_out.get(), d_inp.get(), c.N, c.F);
      expect_close("swiglu_forward", d_out.download_doubles(), result_as<T>(ref, false), kFwdAtol,
                   kFp32Rtol + kRoundRtol<T>);
    }
  }
}
TEST_FP32_AND_BF16(CudaActivation, SwigluForwardMatchesCpu, swiglu_forward_matches_cpu)

template <class T>
void swiglu_backward_matches_cpu() {
  std::mt19937 rng(4);
  for (const SwigluCase& c : kSwigluCases) {
    for (size_t off : kOffsets) {
      SCOPED_TRACE("N=" + std::to_string(c.N) + " F=" + std::to_string(c.F) +
                   " offset=" + std::to_string(off));
      const size_t NF = static_cast<size_t>(c.N) * c.F;
      const auto inp = random_tensor<T>(2 * NF, rng, -8, 8);
      const auto dout = random_tensor<T>(NF, rng, -1, 1);
      std::vector<float> ref(2 * NF);
      merino::cpu::swiglu_backward<float>(ref.data(), to_float(dout.t).data(),
                                          to_float(inp.t).data(), c.N, c.F);
      DeviceBuffer<T> d_inp(inp.t, off), d_dout(dout.t, off),
          d_dinp(random_tensor<T>(2 * NF, rng, -9, 9).t, off);  // garbage: dinp is written (=)
      merino::cuda::swiglu_backward<T>(d_dinp.get(), d_dout.get(), d_inp.get(), c.N, c.F);
      expect_close("swiglu_backward", d_dinp.download_doubles(), result_as<T>(ref, false), kBwdAtol,
                   kFp32Rtol + kRoundRtol<T>);
    }
  }
}
TEST_FP32_AND_BF16(CudaActivation, SwigluBackwardMatchesCpu, swiglu_backward_matches_cpu)

// Empty tensors launch nothing and touch nothing.
template <class T>
void empty_inputs_are_no_ops() {
  std::mt19937 rng(9);
  const auto x = random_tensor<T>(16, rng, -1, 1);
  DeviceBuffer<T> d(x.t);
  merino::cuda::gelu_forward<T>(d.get(), d.get(), 0);
  merino::cuda::accumulate<T>(d.get(), d.get(), 0);
  merino::cuda::swiglu_forward<T>(d.get(), d.get(), 0, 8);
  merino::cuda::swiglu_backward<T>(d.get(), d.get(), d.get(), 3, 0);
  expect_close("untouched", d.download_doubles(), x.d, 0.0, 0.0);
}
TEST_FP32_AND_BF16(CudaActivation, EmptyInputsAreNoOps, empty_inputs_are_no_ops)

}  // namespace

// Causal attention at GPT-2's context length (T = 1024: 16 query tiles, so the causal tile
// skipping and the online-softmax rescaling run over many kv tiles) against the CPU twin, under
// the emulation. tests/cuda/test_cuda_attention.cpp stops at T = 600; this adds the long case
// with the same construction and bounds: inputs uniform in [-2, 2] (qkv) and [-1, 1] (dout),
// rounded to the element type; backward fed the CPU's out (rounded) and lse; fp32 bounds rtol
// 1e-4 with atol 1e-5 (out, lse) / 2e-5 (dqkv), bf16 rtol 1e-2 with atol 1e-2 (out) / 2e-2
// (dqkv) and 1e-4 (lse) -- derived in that file. The sums grow from 600 to 1024 terms, ~1.3x
// the random-walk error, well inside the margin that file reports (13% / 42% of the bounds).
#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace merino::testing {
namespace {

struct Shape {
  int B, T, H, KVH, hd;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << "B=" << s.B << " T=" << s.T << " H=" << s.H << " KVH=" << s.KVH << " hd=" << s.hd;
}

// GPT-2's T; two query heads sharing one kv head, so the GQA group sum runs too
constexpr Shape kLong{1, 1024, 2, 1, 64};

template <class E>
Floats as_stored(const Floats& v) {
  if constexpr (std::is_same_v<E, float>) {
    return v;
  } else {
    return to_float(to_bf16(v));
  }
}

template <class E>
std::vector<E> to_device_type(const Floats& v) {
  if constexpr (std::is_same_v<E, float>) {
    return v;
  } else {
    return to_bf16(v);
  }
}

template <class E>
Floats from_device(const std::vector<E>& v) {
  if constexpr (std::is_same_v<E, float>) {
    return v;
  } else {
    return to_float(v);
  }
}

struct Reference {
  Floats qkv, dout, out, lse, dqkv;
};

template <class E>
Reference reference(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t C3 = size_t(s.H + 2 * s.KVH) * s.hd, BT = size_t(s.B) * s.T;
  Reference r;
  r.qkv = as_stored<E>(uniform(BT * C3, rng, -2.f, 2.f));
  r.dout = as_stored<E>(uniform(BT * s.H * s.hd, rng, -1.f, 1.f));
  r.out.resize(BT * s.H * s.hd);
  r.lse.resize(size_t(s.B) * s.H * s.T);
  r.dqkv.resize(BT * C3);
  cpu::attention_forward<float>(r.out.data(), r.lse.data(), r.qkv.data(), s.B, s.T, s.H, s.KVH,
                                s.hd);
  r.out = as_stored<E>(r.out);  // what backward is handed
  cpu::attention_backward<float>(r.dqkv.data(), r.dout.data(), r.qkv.data(), r.out.data(),
                                 r.lse.data(), s.B, s.T, s.H, s.KVH, s.hd);
  return r;
}

template <class E>
void check_forward(const Shape& s) {
  const bool fp32 = std::is_same_v<E, float>;
  const Reference ref = reference<E>(s, 11);
  DeviceBuffer<E> qkv(to_device_type<E>(ref.qkv)), out(ref.out.size());
  DeviceBuffer<float> lse(ref.lse.size());
  cuda::attention_forward<E>(out.get(), lse.get(), qkv.get(), s.B, s.T, s.H, s.KVH, s.hd);
  expect_close("out", from_device(out.download()), ref.out, fp32 ? 1e-5 : 1e-2,
               fp32 ? 1e-4 : 1e-2);
  expect_close("lse", lse.download(), ref.lse, 1e-5, 1e-4);
}

template <class E>
void check_backward(const Shape& s) {
  const bool fp32 = std::is_same_v<E, float>;
  const Reference ref = reference<E>(s, 12);
  DeviceBuffer<E> qkv(to_device_type<E>(ref.qkv)), dout(to_device_type<E>(ref.dout)),
      out(to_device_type<E>(ref.out)), dqkv(ref.dqkv.size());
  DeviceBuffer<float> lse(ref.lse);
  cuda::attention_backward<E>(dqkv.get(), dout.get(), qkv.get(), out.get(), lse.get(), s.B, s.T,
                              s.H, s.KVH, s.hd);
  expect_close("dqkv", from_device(dqkv.download()), ref.dqkv, fp32 ? 2e-5 : 2e-2,
               fp32 ? 1e-4 : 1e-2);
}

TEST(EmuAttentionLong, ForwardFp32T1024MatchesCpu) { check_forward<float>(kLong); }
TEST(EmuAttentionLong, BackwardFp32T1024MatchesCpu) { check_backward<float>(kLong); }
TEST(EmuAttentionLong, ForwardBf16T1024MatchesCpu) { check_forward<bf16>(kLong); }
TEST(EmuAttentionLong, BackwardBf16T1024MatchesCpu) { check_backward<bf16>(kLong); }

// Full mode only (MERINO_EMU_FULL=1): every other head size at T = 1024, with groups of 3 and
// an odd number of kv heads, and GPT-2 124M's 12 heads over two sequences; one test per shape
// and precision, each well under a minute.
class EmuAttentionLongAllHeads : public ::testing::TestWithParam<Shape> {};

TEST_P(EmuAttentionLongAllHeads, Fp32T1024MatchesCpu) {
  check_forward<float>(GetParam());
  check_backward<float>(GetParam());
}
TEST_P(EmuAttentionLongAllHeads, Bf16T1024MatchesCpu) {
  check_forward<bf16>(GetParam());
  check_backward<bf16>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, EmuAttentionLongAllHeads,
    ::testing::Values(Shape{1, 1024, 3, 1, 32}, Shape{1, 1024, 3, 1, 48}, Shape{1, 1024, 3, 3, 80},
                      Shape{1, 1024, 3, 1, 96}, Shape{1, 1024, 3, 1, 112},
                      Shape{1, 1024, 6, 3, 128}, Shape{2, 1024, 12, 12, 64}),
    [](const ::testing::TestParamInfo<Shape>& i) {
      const Shape& s = i.param;
      return "B" + std::to_string(s.B) + "H" + std::to_string(s.H) + "KVH" +
             std::to_string(s.KVH) + "hd" + std::to_string(s.hd);
    });

}  // namespace
}  // namespace merino::testing

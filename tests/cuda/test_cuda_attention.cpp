// CUDA causal attention (kernels/cuda/attention.cuh) against its CPU twin
// (merino::cpu::attention_*, kernels/cpu/attention.h) on seeded random inputs: T = 1, odd T
// (not multiples of the 128-, 64- or 32-row tiles), 64 (exactly one tile), 600 (many tiles,
// causal skipping); every supported head_dim (32, 48, 64, 80, 96, 112, 128), each with
// H / KVH = 1, 3 and 5 (112: 3); fp32 and bf16, forward and backward, pointers aligned and not
// (the element-by-element load path), bitwise determinism of backward, and the refusal of the
// other head sizes. Every test runs for both kernel versions (suffix /v1, /v2: attention.cu and
// attention_v2.cu; v2's fp32 is v1's fp32). Tests named *Large* (T = 1024) are the ones a quick
// subset, such as the CPU emulation's, can leave out.
// Output buffers start as NaN, so an element the kernels fail to write fails the comparison.
// Every test first checks for a device and reports SKIPPED (never passes) when there is none.
//
// The reference is always the fp32 CPU twin. For bf16, its inputs are the bf16 values the GPU
// sees (rounded once, then widened back to float), and backward gets the same bf16-rounded out;
// lse is fp32 on both sides. Backward is fed the CPU's out and lse, so it is tested on its own.
//
// Tolerances (|gpu - cpu| <= atol + rtol * |cpu| per element).
// * fp32: both sides compute in float (eps = 2^-23 ~ 1.2e-7). Scores are hd-term dot products
//   (relative error ~ sqrt(hd) eps ~ 1e-6 of |q||k|, i.e. ~1e-6 absolute for the O(1) scaled
//   scores here), and exp2f(x log2 e) vs expf(x) differ by a few ulp; each probability is then
//   off by ~1e-6 relative, and out, lse and the gradients are sums of at most T such terms,
//   accumulated in a different order on each side. Bounds: rtol 1e-4 with atol 1e-5 (out, lse)
//   and 2e-5 (dqkv, whose elements reach |6|). Run through a CPU emulation of the kernels
//   (every CUDA thread a fiber, real barriers and shuffles), these very tests used at most 13%
//   of the bounds, at every head size; the GPU's FMA contraction and 2-ulp exp2f stay well
//   inside that. An indexing, masking or group-sum bug shows up as an error of 1e-2..1.
// * bf16 (8 significant bits: one ulp is 2^-7 ~ 0.8% of a value just above a power of two):
//   the GPU rounds out and dqkv to bf16. The reference out is rounded as well (backward consumes
//   it), so the two outs can land one ulp apart; dqkv is off by up to half an ulp (0.4%). P and
//   dS are rounded to bf16 before the tensor-core products, each term independently, so those
//   errors add like a random walk and matter most where the terms of a gradient cancel. Bounds:
//   rtol 1e-2 with atol 1e-2 (out) and 2e-2 (dqkv); under the emulation the worst element used
//   42% of them (errors up to 0.016 on dqkv values of rms 0.2-0.4 and max 6; 39-42% at each
//   head size), still far below a real bug. lse comes from fp32 scores of exact bf16 products
//   and an fp32 row sum, so it keeps a tight bound (1e-4; the emulation used under 1% of it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace {

using merino::cuda::AttentionKernel;

#define REQUIRE_CUDA_DEVICE()                                   \
  do {                                                          \
    std::string why_;                                           \
    if (!merino::cuda::cuda_device_available(&why_)) {          \
      GTEST_SKIP() << "no CUDA device: " << why_;               \
    }                                                           \
  } while (0)

using Floats = std::vector<float>;
using bf16 = __nv_bfloat16;

float to_float(float x) { return x; }
float to_float(bf16 x) { return __bfloat162float(x); }

template <class E>
E from_float(float x) {
  if constexpr (std::is_same_v<E, float>) {
    return x;
  } else {
    return __float2bfloat16(x);
  }
}

template <class E>
std::vector<E> convert(const Floats& v) {
  std::vector<E> r(v.size());
  std::transform(v.begin(), v.end(), r.begin(), from_float<E>);
  return r;
}

template <class E>
Floats widen(const std::vector<E>& v) {
  Floats r(v.size());
  std::transform(v.begin(), v.end(), r.begin(), [](E x) { return to_float(x); });
  return r;
}

// the values an E buffer holds after storing v (identity for float)
template <class E>
Floats round_to(const Floats& v) {
  return widen(convert<E>(v));
}

Floats uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Owning device buffer, filled with NaN (all-ones bytes, NaN in float and bf16) unless
// initialised from host data; offset > 0 hands out a pointer `offset` elements into the
// allocation, so 16-byte loads are impossible and the kernels take their scalar path.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n, size_t offset = 0) : n_(n), offset_(offset) {
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&base_), (n + offset + 1) * sizeof(T)));
    CUDA_CHECK(cudaMemset(base_, 0xff, (n + offset + 1) * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host, size_t offset = 0)
      : DeviceBuffer(host.size(), offset) {
    CUDA_CHECK(cudaMemcpy(get(), host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(base_); }
  T* get() const { return base_ + offset_; }
  std::vector<T> download() const {
    CUDA_CHECK(cudaDeviceSynchronize());  // kernels are asynchronous; surface their errors here
    std::vector<T> host(n_);
    CUDA_CHECK(cudaMemcpy(host.data(), get(), n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* base_ = nullptr;
  size_t n_, offset_;
};

// every element: |got - ref| <= atol + rtol * |ref|; reports the worst element and the first few
// failures. Refuses to pass vacuously: the arrays must be non-empty and ref not all zero.
void expect_close(const std::string& what, const Floats& got, const Floats& ref, double atol,
                  double rtol) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  ASSERT_FALSE(ref.empty()) << what;
  double worst = 0.0, ref_max = 0.0;
  size_t worst_i = 0;
  int failures = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = got[i], r = ref[i], err = std::fabs(g - r);
    ref_max = std::max(ref_max, std::fabs(r));
    const double e = std::isfinite(g) ? err : INFINITY;
    if (e > worst) {
      worst = e;
      worst_i = i;
    }
    if (!(err <= atol + rtol * std::fabs(r))) {
      if (++failures <= 5) {
        ADD_FAILURE() << what << "[" << i << "]: gpu " << g << " vs cpu " << r << " (|diff| "
                      << err << " > " << atol + rtol * std::fabs(r) << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << ref.size()
                         << " elements out of tolerance; worst |diff| " << worst << " at "
                         << worst_i;
  EXPECT_GT(ref_max, 0.0) << what << ": reference is all zero, the comparison proves nothing";
}

struct Case {
  int B, T, H, KVH, hd;
};

std::string name(const Case& c) {
  std::ostringstream s;
  s << "B=" << c.B << " T=" << c.T << " H=" << c.H << " KVH=" << c.KVH << " hd=" << c.hd;
  return s.str();
}

// T = 1 (one row, one key); odd T such as 37, 77, 99, 129 (one row past two tiles), 201, 301
// (partial last tiles, also of the 32-row steps that fp32 uses for hd > 64); 200; 64 (exactly
// one tile); 600 (ten tiles). Every head size with H / KVH = 1, 3, 5, including KVH > 1 with
// groups (kv head index > 0). hd = 48, 80, 112 are odd numbers of 16-column fragments, which the
// bf16 backward splits unevenly between its two column halves; hd = 48 with 15 heads and 96 with
// 10 are head shapes the MeRino search produces (configs/merino-52m.yaml has 96 x 10).
const Case kCases[] = {
    {1, 1, 1, 1, 64},     {2, 37, 3, 1, 64},    {1, 200, 5, 1, 64},   {2, 200, 3, 3, 64},
    {1, 129, 10, 2, 64},  {1, 600, 6, 2, 64},   {1, 1, 3, 3, 128},    {1, 37, 5, 1, 128},
    {2, 200, 6, 2, 128},  {1, 64, 2, 2, 128},   {1, 200, 15, 3, 128}, {1, 77, 5, 5, 32},
    {2, 131, 6, 2, 32},   {1, 301, 5, 1, 32},   {1, 1, 5, 1, 48},     {2, 99, 15, 15, 48},
    {1, 201, 9, 3, 48},   {1, 65, 3, 3, 80},    {2, 45, 6, 2, 80},    {1, 233, 10, 2, 80},
    {1, 129, 10, 10, 96}, {1, 37, 3, 1, 96},    {2, 161, 5, 1, 96},   {1, 97, 6, 2, 112}};

struct Tolerance {
  double out_atol, out_rtol, lse_atol, lse_rtol, grad_atol, grad_rtol;
};

template <class E>
Tolerance tolerance() {
  if constexpr (std::is_same_v<E, float>) {
    return {1e-5, 1e-4, 1e-5, 1e-4, 2e-5, 1e-4};
  } else {
    return {1e-2, 1e-2, 1e-4, 1e-4, 2e-2, 1e-2};
  }
}

// CPU-twin results for inputs as an E buffer holds them.
struct Reference {
  Floats qkv, dout, out, lse, dqkv;
};

template <class E>
Reference reference(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t C3 = static_cast<size_t>(c.H + 2 * c.KVH) * c.hd;
  const size_t BT = static_cast<size_t>(c.B) * c.T;
  Reference r;
  // |q|, |k| up to 2: scaled scores of O(1..5), a softmax far from uniform
  r.qkv = round_to<E>(uniform(BT * C3, rng, -2.f, 2.f));
  r.dout = round_to<E>(uniform(BT * c.H * c.hd, rng, -1.f, 1.f));
  r.out.resize(BT * c.H * c.hd);
  r.lse.resize(static_cast<size_t>(c.B) * c.H * c.T);
  r.dqkv.resize(BT * C3);
  merino::cpu::attention_forward<float>(r.out.data(), r.lse.data(), r.qkv.data(), c.B, c.T, c.H,
                                        c.KVH, c.hd);
  r.out = round_to<E>(r.out);  // what backward will be handed
  merino::cpu::attention_backward<float>(r.dqkv.data(), r.dout.data(), r.qkv.data(), r.out.data(),
                                         r.lse.data(), c.B, c.T, c.H, c.KVH, c.hd);
  return r;
}

template <class E>
void check_forward(AttentionKernel kernel, const Case& c, uint32_t seed, size_t offset = 0) {
  const Reference ref = reference<E>(c, seed);
  const Tolerance tol = tolerance<E>();
  DeviceBuffer<E> d_qkv(convert<E>(ref.qkv), offset), d_out(ref.out.size(), offset);
  DeviceBuffer<float> d_lse(ref.lse.size());
  merino::cuda::attention_forward<E>(kernel, d_out.get(), d_lse.get(), d_qkv.get(), c.B, c.T, c.H,
                                     c.KVH, c.hd);
  // ref.out is already rounded to E, like the GPU's stored out
  expect_close("out", widen(d_out.download()), ref.out, tol.out_atol, tol.out_rtol);
  expect_close("lse", d_lse.download(), ref.lse, tol.lse_atol, tol.lse_rtol);
}

template <class E>
void check_backward(AttentionKernel kernel, const Case& c, uint32_t seed, bool own_scratch,
                    size_t offset = 0) {
  const Reference ref = reference<E>(c, seed);
  const Tolerance tol = tolerance<E>();
  DeviceBuffer<E> d_qkv(convert<E>(ref.qkv), offset), d_dout(convert<E>(ref.dout), offset),
      d_out(convert<E>(ref.out), offset), d_dqkv(ref.dqkv.size(), offset);
  DeviceBuffer<float> d_lse(ref.lse),
      d_scratch(merino::cuda::attention_backward_scratch_floats(c.B, c.T, c.H));
  merino::cuda::attention_backward<E>(kernel, d_dqkv.get(), d_dout.get(), d_qkv.get(), d_out.get(),
                                      d_lse.get(), c.B, c.T, c.H, c.KVH, c.hd, 0,
                                      own_scratch ? d_scratch.get() : nullptr);
  expect_close("dqkv", widen(d_dqkv.download()), ref.dqkv, tol.grad_atol, tol.grad_rtol);
}

// The kernel version under test.
class CudaAttention : public ::testing::TestWithParam<AttentionKernel> {};

TEST_P(CudaAttention, ForwardFp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 100;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c));
    check_forward<float>(GetParam(), c, seed++);
  }
}

TEST_P(CudaAttention, BackwardFp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 200;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c));
    check_backward<float>(GetParam(), c, seed, seed % 2 == 0);  // both scratch paths
    ++seed;
  }
}

TEST_P(CudaAttention, ForwardBf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 300;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c));
    check_forward<bf16>(GetParam(), c, seed++);
  }
}

TEST_P(CudaAttention, BackwardBf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 400;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c));
    check_backward<bf16>(GetParam(), c, seed, seed % 2 == 1);
    ++seed;
  }
}

// Pointers one element past a 16-byte boundary: the element-by-element load path.
TEST_P(CudaAttention, UnalignedPointers) {
  REQUIRE_CUDA_DEVICE();
  for (const Case& c : {Case{2, 77, 6, 2, 64}, Case{1, 45, 5, 1, 128}, Case{1, 59, 6, 2, 48},
                        Case{2, 33, 5, 1, 80}}) {
    SCOPED_TRACE(name(c));
    {
      SCOPED_TRACE("fp32");
      check_forward<float>(GetParam(), c, 500, 1);
      check_backward<float>(GetParam(), c, 501, false, 1);
    }
    {
      SCOPED_TRACE("bf16");
      check_forward<bf16>(GetParam(), c, 502, 1);
      check_backward<bf16>(GetParam(), c, 503, true, 1);
    }
  }
}

// No atomics: two backward calls from the same inputs agree bit for bit (GQA: the k/v
// gradients of 3 query heads are summed in a fixed order).
template <class E>
void check_deterministic(AttentionKernel kernel, const Case& c) {
  const Reference ref = reference<E>(c, 600);
  DeviceBuffer<E> d_qkv(convert<E>(ref.qkv)), d_dout(convert<E>(ref.dout)),
      d_out(convert<E>(ref.out));
  DeviceBuffer<float> d_lse(ref.lse);
  std::vector<E> results[2];
  for (auto& r : results) {
    DeviceBuffer<E> d_dqkv(ref.dqkv.size());
    merino::cuda::attention_backward<E>(kernel, d_dqkv.get(), d_dout.get(), d_qkv.get(),
                                        d_out.get(), d_lse.get(), c.B, c.T, c.H, c.KVH, c.hd);
    r = d_dqkv.download();
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  EXPECT_EQ(0, std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(E)))
      << "dqkv differs between two identical runs";
}

TEST_P(CudaAttention, BackwardIsDeterministic) {
  REQUIRE_CUDA_DEVICE();
  for (const Case& c : {Case{2, 300, 6, 2, 64}, Case{1, 201, 9, 3, 48}}) {
    SCOPED_TRACE(name(c));
    {
      SCOPED_TRACE("fp32");
      check_deterministic<float>(GetParam(), c);
    }
    {
      SCOPED_TRACE("bf16");
      check_deterministic<bf16>(GetParam(), c);
    }
  }
}

// Forward then backward entirely on the GPU (backward consumes the GPU's own out and lse).
TEST_P(CudaAttention, ForwardBackwardChainMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 700;
  for (const Case& c : {Case{2, 150, 9, 3, 64}, Case{1, 151, 10, 10, 96}}) {
    SCOPED_TRACE(name(c));
    const Reference ref = reference<float>(c, seed++);
    const Tolerance tol = tolerance<float>();
    DeviceBuffer<float> d_qkv(ref.qkv), d_dout(ref.dout), d_out(ref.out.size()),
        d_lse(ref.lse.size()), d_dqkv(ref.dqkv.size());
    merino::cuda::attention_forward<float>(GetParam(), d_out.get(), d_lse.get(), d_qkv.get(), c.B,
                                           c.T, c.H, c.KVH, c.hd);
    merino::cuda::attention_backward<float>(GetParam(), d_dqkv.get(), d_dout.get(), d_qkv.get(),
                                            d_out.get(), d_lse.get(), c.B, c.T, c.H, c.KVH, c.hd);
    expect_close("out", d_out.download(), ref.out, tol.out_atol, tol.out_rtol);
    expect_close("dqkv", d_dqkv.download(), ref.dqkv, tol.grad_atol, tol.grad_rtol);
  }
}

// Head sizes other than the multiples of 16 from 32 to 128 (among them 40 and 72, multiples of 8
// an older search space produced) and inconsistent head counts are refused before anything
// launches, in both precisions and both directions; the message names the supported set.
TEST_P(CudaAttention, RejectsUnsupportedShapes) {
  REQUIRE_CUDA_DEVICE();
  const AttentionKernel k = GetParam();
  DeviceBuffer<float> buf(1 << 16);
  DeviceBuffer<float> lse(1 << 10);
  float* f = buf.get();
  bf16* h = reinterpret_cast<bf16*>(buf.get());
  for (int hd : {0, 8, 16, 24, 40, 56, 72, 100, 120, 136, 144, 256}) {
    SCOPED_TRACE("hd=" + std::to_string(hd));
    EXPECT_THROW(merino::cuda::attention_forward<float>(k, f, lse.get(), f, 1, 8, 2, 1, hd),
                 std::invalid_argument);
    EXPECT_THROW(merino::cuda::attention_forward<bf16>(k, h, lse.get(), h, 1, 8, 2, 1, hd),
                 std::invalid_argument);
    EXPECT_THROW(merino::cuda::attention_backward<float>(k, f, f, f, f, lse.get(), 1, 8, 2, 1, hd),
                 std::invalid_argument);
    EXPECT_THROW(merino::cuda::attention_backward<bf16>(k, h, h, h, h, lse.get(), 1, 8, 2, 1, hd),
                 std::invalid_argument);
  }
  try {
    merino::cuda::attention_forward<float>(k, f, lse.get(), f, 1, 8, 2, 1, 40);
    ADD_FAILURE() << "head_dim 40 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim 40 is not supported (32, 48, 64, 80, 96, 112 "
                                         "or 128)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(merino::cuda::attention_backward<float>(k, buf.get(), buf.get(), buf.get(),
                                                       buf.get(), lse.get(), 1, 8, 6, 4, 64),
               std::invalid_argument);
  EXPECT_THROW(merino::cuda::attention_backward<bf16>(k, h, h, h, h, lse.get(), 1, 8, 6, 4, 64),
               std::invalid_argument);
}

// T = 0 or B = 0 launch nothing and write nothing.
TEST_P(CudaAttention, EmptyShapesAreNoOps) {
  REQUIRE_CUDA_DEVICE();
  const Case c{1, 3, 2, 1, 64};
  DeviceBuffer<bf16> qkv(3 * 4 * 64), out(2 * 3 * 64), dqkv(3 * 4 * 64);
  DeviceBuffer<float> lse(2 * 3);
  for (const auto& [B, T] : {std::pair{0, c.T}, std::pair{c.B, 0}}) {
    merino::cuda::attention_forward<bf16>(GetParam(), out.get(), lse.get(), qkv.get(), B, T, c.H,
                                          c.KVH, c.hd);
    merino::cuda::attention_backward<bf16>(GetParam(), dqkv.get(), out.get(), qkv.get(),
                                           out.get(), lse.get(), B, T, c.H, c.KVH, c.hd);
  }
  for (const bf16 x : out.download()) ASSERT_TRUE(std::isnan(to_float(x)));
  for (const bf16 x : dqkv.download()) ASSERT_TRUE(std::isnan(to_float(x)));
}

// T = 1024, bf16, the whole chain on the GPU (backward consumes the GPU's own out and lse):
// 8 query tiles of v2's forward, 16 of its backward, GQA 2 and 4, hd 64 and 128.
TEST_P(CudaAttention, ForwardBackwardChainBf16Large) {
  REQUIRE_CUDA_DEVICE();
  uint32_t seed = 800;
  for (const Case& c :
       {Case{1, 1024, 4, 2, 64}, Case{1, 1024, 4, 1, 128}, Case{2, 1024, 3, 3, 48}}) {
    SCOPED_TRACE(name(c));
    const Reference ref = reference<bf16>(c, seed++);
    const Tolerance tol = tolerance<bf16>();
    DeviceBuffer<bf16> d_qkv(convert<bf16>(ref.qkv)), d_dout(convert<bf16>(ref.dout)),
        d_out(ref.out.size()), d_dqkv(ref.dqkv.size());
    DeviceBuffer<float> d_lse(ref.lse.size());
    merino::cuda::attention_forward<bf16>(GetParam(), d_out.get(), d_lse.get(), d_qkv.get(), c.B,
                                          c.T, c.H, c.KVH, c.hd);
    merino::cuda::attention_backward<bf16>(GetParam(), d_dqkv.get(), d_dout.get(), d_qkv.get(),
                                           d_out.get(), d_lse.get(), c.B, c.T, c.H, c.KVH, c.hd);
    expect_close("out", widen(d_out.download()), ref.out, tol.out_atol, tol.out_rtol);
    expect_close("lse", d_lse.download(), ref.lse, tol.lse_atol, tol.lse_rtol);
    expect_close("dqkv", widen(d_dqkv.download()), ref.dqkv, tol.grad_atol, tol.grad_rtol);
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, CudaAttention,
                         ::testing::Values(AttentionKernel::v1, AttentionKernel::v2),
                         [](const ::testing::TestParamInfo<AttentionKernel>& info) {
                           return std::string(info.param == AttentionKernel::v1 ? "v1" : "v2");
                         });

}  // namespace

// RoPE forward/backward (kernels/cuda/rope.cu) against its CPU twin (kernels/cpu/rope.h) on
// seeded random inputs: GQA (KVH < H), odd hd / 2 (scalar path), T = 1, positions up to 600,
// LLaMA-3's theta, an unaligned buffer; rope_forward_at (the rows of a decoding chunk at a
// position offset). Every test first checks for a device and reports SKIPPED (never passes)
// without one.
//
// Tolerances. fp32: the same cos/sin table (double angle, rounded to float) and the same float
// operations without FMA contraction, so results are expected bit-identical; device pow/sincos
// may round a table entry differently from glibc in rare cases (1 float ulp, 6e-8 relative), so
// the bound is 4 * 2^-24 * (|x0| + |x1|) + 1e-30 -- a wrong pairing or angle is O(0.1). bf16:
// one rounding of the fp32 result, 2^-8 * |ref| + the fp32 bound. v heads must come back bit for
// bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/rope.h"
#include "kernels/cuda/rope.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;

struct RopeCase {
  int B, T, H, KVH, hd;
  double theta;
  size_t offset;
};

std::string name(const RopeCase& c) {
  std::ostringstream s;
  s << "B=" << c.B << " T=" << c.T << " H=" << c.H << " KVH=" << c.KVH << " hd=" << c.hd
    << " theta=" << c.theta << " offset=" << c.offset;
  return s.str();
}

// hd/2 = 3, 5 (scalar), 32, 64 (vectors); GQA (KVH < H) and MHA; T = 1; positions up to 600
// (angles of hundreds of radians); LLaMA-3's theta = 500000; an unaligned buffer.
const RopeCase kRopeCases[] = {{2, 5, 3, 1, 6, 10000.0, 0},   {1, 1, 2, 2, 10, 10000.0, 0},
                               {2, 17, 4, 2, 64, 10000.0, 0}, {1, 600, 2, 2, 128, 500000.0, 0},
                               {3, 9, 4, 4, 64, 10000.0, 1}};

size_t qkv_size(const RopeCase& c) {
  return size_t(c.B) * c.T * size_t(c.H + 2 * c.KVH) * c.hd;
}

// bound per element: `ulps` * u * (|x0| + |x1|) of the pair it belongs to (0 outside the q/k
// heads), plus `rel` * |ref|
std::vector<double> rope_bound(const RopeCase& c, const Floats& x, const Floats& ref, double rel,
                               double ulps = 4) {
  std::vector<double> b(x.size(), 0.0);
  const int half = c.hd / 2, C3 = (c.H + 2 * c.KVH) * c.hd;
  for (size_t r = 0; r < size_t(c.B) * c.T; ++r) {
    for (int h = 0; h < c.H + c.KVH; ++h) {
      for (int i = 0; i < half; ++i) {
        const size_t a = r * C3 + size_t(h) * c.hd + i, z = a + half;
        const double e = ulps * kU * (std::fabs(x[a]) + std::fabs(x[z]));
        b[a] = e + rel * std::fabs(ref[a]);
        b[z] = e + rel * std::fabs(ref[z]);
      }
    }
  }
  return b;
}

// the v heads must come back bit for bit
void expect_untouched(const RopeCase& c, const Floats& got, const Floats& before) {
  const int C3 = (c.H + 2 * c.KVH) * c.hd, qk = (c.H + c.KVH) * c.hd;
  Floats g, b;
  for (size_t r = 0; r < size_t(c.B) * c.T; ++r) {
    for (int k = qk; k < C3; ++k) {
      g.push_back(got[r * C3 + k]);
      b.push_back(before[r * C3 + k]);
    }
  }
  expect_bitwise_equal("v heads", g, b);
}

TEST(Rope, Fp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for (const RopeCase& c : kRopeCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(51 + c.hd + c.T);
    const Floats x = uniform(qkv_size(c), rng, -1.f, 1.f);
    Floats fwd = x, bwd = x;
    merino::cpu::rope_forward(fwd.data(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    merino::cpu::rope_backward(bwd.data(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    DeviceBuffer<float> df(x, c.offset), db(x, c.offset);
    merino::cuda::rope_forward(df.get(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    merino::cuda::rope_backward(db.get(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    const Floats gf = df.download(), gb = db.download();
    expect_within("forward", gf, fwd, rope_bound(c, x, fwd, 0.0));
    expect_within("backward", gb, bwd, rope_bound(c, x, bwd, 0.0));
    expect_untouched(c, gf, x);
    expect_untouched(c, gb, x);
    // backward undoes forward (the transpose of a rotation): two rotations' roundings plus
    // cos^2 + sin^2 of the float table differing from 1 by a few u -- 8 u (|x0| + |x1|)
    merino::cuda::rope_backward(df.get(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    expect_within("backward(forward(x))", df.download(), x, rope_bound(c, x, x, 0.0, 8));
  }
}

TEST(Rope, Bf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for (const RopeCase& c : kRopeCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(61 + c.hd + c.T);
    const Floats x = round_bf16(uniform(qkv_size(c), rng, -1.f, 1.f));
    Floats fwd = x, bwd = x;
    merino::cpu::rope_forward(fwd.data(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    merino::cpu::rope_backward(bwd.data(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    DeviceBuffer<bf16> df(to_bf16(x), c.offset), db(to_bf16(x), c.offset);
    merino::cuda::rope_forward(df.get(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    merino::cuda::rope_backward(db.get(), c.B, c.T, c.H, c.KVH, c.hd, c.theta);
    const Floats gf = to_float(df.download()), gb = to_float(db.download());
    expect_within("forward", gf, fwd, rope_bound(c, x, fwd, 1.0 / 256));
    expect_within("backward", gb, bwd, rope_bound(c, x, bwd, 1.0 / 256));
    expect_untouched(c, gf, x);
    expect_untouched(c, gb, x);
  }
}

// rows of a decode chunk at position pos0: the CPU twin's table, so the same float rotation
TEST(RopeAt, Fp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  const int B = 2, Tn = 3, H = 6, KVH = 2, hd = 64, pos0 = 1000;
  std::mt19937 rng(90);
  const Floats x = uniform(size_t(B) * Tn * (H + 2 * KVH) * hd, rng, -1.f, 1.f);
  Floats ref = x;
  merino::cpu::rope_forward_at(ref.data(), B, Tn, H, KVH, hd, 10000.0, pos0);
  DeviceBuffer<float> d(x);
  merino::cuda::rope_forward_at(d.get(), B, Tn, H, KVH, hd, 10000.0, pos0);
  expect_close("rope at 1000", d.download(), ref, 1e-6, 1e-6);
}

}  // namespace

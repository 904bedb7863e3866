// Attention over a key/value cache (incremental decoding) and RoPE at an offset, against the
// full-sequence kernels (themselves checked against a naive softmax in test_attention.cpp):
// feeding a sequence in chunks through the cache must give the full forward's rows.
#include <gtest/gtest.h>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_cached.h"
#include "kernels/cpu/rope.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

struct Shape {
  int B, Tn, H, KVH, hd;
  int C3() const { return (H + 2 * KVH) * hd; }
};
// GQA groups of 3, plain MHA, multi-query
const Shape kShapes[] = {{2, 7, 6, 2, 4}, {2, 7, 6, 6, 4}, {3, 7, 6, 1, 4}};

// rows [t0, t0 + n) of every sequence of a [B, Tn, width] buffer, as [B, n, width]
Vec rows(const Vec& x, int B, int Tn, int width, int t0, int n) {
  Vec out;
  for (int b = 0; b < B; ++b)
    out.insert(out.end(), x.begin() + (size_t(b) * Tn + t0) * width,
               x.begin() + (size_t(b) * Tn + t0 + n) * width);
  return out;
}

TEST(AttentionCached, ChunksMatchFullSequenceAttention) {
  std::mt19937 rng(41);
  const int chunks[] = {3, 1, 2, 1};  // prefill, then decode steps of one and two tokens
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("KVH=" + std::to_string(s.KVH));
    const int cap = s.Tn + 2, Ckv = s.KVH * s.hd, Cq = s.H * s.hd;
    const Vec qkv = uniform(size_t(s.B) * s.Tn * s.C3(), rng, -2, 2);
    Vec full(size_t(s.B) * s.Tn * Cq), lse(size_t(s.B) * s.H * s.Tn);
    cpu::attention_forward(full.data(), lse.data(), qkv.data(), s.B, s.Tn, s.H, s.KVH, s.hd);
    // the cache starts as garbage: only rows written by the op may be read
    Vec kc = uniform(size_t(s.B) * cap * Ckv, rng, 50, 60), vc = kc;
    int past = 0;
    for (int n : chunks) {
      const Vec q = rows(qkv, s.B, s.Tn, s.C3(), past, n);
      Vec out(size_t(s.B) * n * Cq);
      cpu::attention_cached_forward(out.data(), kc.data(), vc.data(), q.data(), s.B, n, past + n,
                                    cap, s.H, s.KVH, s.hd);
      expect_near("out rows from " + std::to_string(past), out, rows(full, s.B, s.Tn, Cq, past, n),
                  1e-12);
      past += n;
    }
    ASSERT_EQ(past, s.Tn);
    // the cache holds each token's k and v heads
    for (int b = 0; b < s.B; ++b)
      for (int t = 0; t < s.Tn; ++t)
        for (int c = 0; c < Ckv; ++c) {
          const size_t src = (size_t(b) * s.Tn + t) * s.C3() + Cq + c;
          ASSERT_EQ(kc[(size_t(b) * cap + t) * Ckv + c], qkv[src]);
          ASSERT_EQ(vc[(size_t(b) * cap + t) * Ckv + c], qkv[src + Ckv]);
        }
  }
}

TEST(AttentionCached, WholeSequenceAtOnceEqualsAttentionForward) {
  std::mt19937 rng(42);
  const Shape s = kShapes[0];
  const Vec qkv = uniform(size_t(s.B) * s.Tn * s.C3(), rng, -2, 2);
  const size_t no = size_t(s.B) * s.Tn * s.H * s.hd;
  Vec full(no), lse(size_t(s.B) * s.H * s.Tn), out(no);
  Vec kc(size_t(s.B) * s.Tn * s.KVH * s.hd), vc = kc;
  cpu::attention_forward(full.data(), lse.data(), qkv.data(), s.B, s.Tn, s.H, s.KVH, s.hd);
  cpu::attention_cached_forward(out.data(), kc.data(), vc.data(), qkv.data(), s.B, s.Tn, s.Tn, s.Tn,
                                s.H, s.KVH, s.hd);
  expect_near("out", out, full, 1e-12);
}

TEST(AttentionCached, FloatAgreesWithDouble) {
  std::mt19937 rng(43);
  const Shape s = kShapes[0];
  const int cap = 9, past = 4, n = 2, Ckv = s.KVH * s.hd;
  const Vec q = uniform(size_t(s.B) * n * s.C3(), rng, -2, 2);
  const Vec k0 = uniform(size_t(s.B) * cap * Ckv, rng, -2, 2), v0 = uniform(k0.size(), rng, -2, 2);
  Vec kd = k0, vd = v0, od(size_t(s.B) * n * s.H * s.hd);
  auto kf = cast<float>(k0), vf = cast<float>(v0);
  std::vector<float> of(od.size());
  cpu::attention_cached_forward(od.data(), kd.data(), vd.data(), q.data(), s.B, n, past + n, cap,
                                s.H, s.KVH, s.hd);
  cpu::attention_cached_forward(of.data(), kf.data(), vf.data(), cast<float>(q).data(), s.B, n,
                                past + n, cap, s.H, s.KVH, s.hd);
  expect_near("out", cast<double>(of), od, 1e-5);
}

TEST(RopeAt, RowsEqualTheFullSequenceRotation) {
  std::mt19937 rng(44);
  const Shape s = kShapes[0];
  const Vec x = uniform(size_t(s.B) * s.Tn * s.C3(), rng);
  Vec full = x;
  cpu::rope_forward(full.data(), s.B, s.Tn, s.H, s.KVH, s.hd, 100.0);
  for (int pos0 : {0, 3, 6}) {
    const int n = s.Tn - pos0;
    Vec part = rows(x, s.B, s.Tn, s.C3(), pos0, n);
    cpu::rope_forward_at(part.data(), s.B, n, s.H, s.KVH, s.hd, 100.0, pos0);
    expect_near("pos0 " + std::to_string(pos0), part, rows(full, s.B, s.Tn, s.C3(), pos0, n), 0.0);
  }
}

}  // namespace
}  // namespace merino::test

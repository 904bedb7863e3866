#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/attention.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

struct Shape {
  int B, Tn, H, KVH, hd;
  int C3() const { return (H + 2 * KVH) * hd; }
};

// odd sizes; GQA groups of 3, plain MHA, and multi-query
const Shape kShapes[] = {{2, 5, 6, 2, 4}, {2, 5, 6, 6, 4}, {2, 5, 6, 1, 4}};

// full T x T scores, causal mask by -inf, softmax over the row
void naive_attention(const Vec& qkv, const Shape& s, Vec& out, Vec& lse) {
  const int C3 = s.C3(), group = s.H / s.KVH;
  out.assign(size_t(s.B) * s.Tn * s.H * s.hd, 0.0);
  lse.assign(size_t(s.B) * s.H * s.Tn, 0.0);
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.H; ++h) {
      const int kh = h / group;
      for (int t = 0; t < s.Tn; ++t) {
        Vec sc(s.Tn);
        for (int j = 0; j < s.Tn; ++j) {
          double d = 0;
          for (int e = 0; e < s.hd; ++e)
            d += qkv[(b * s.Tn + t) * C3 + h * s.hd + e] *
                 qkv[(b * s.Tn + j) * C3 + (s.H + kh) * s.hd + e];
          sc[j] = j <= t ? d / std::sqrt(double(s.hd)) : -std::numeric_limits<double>::infinity();
        }
        double mx = sc[0];  // shift by the row max: exact for softmax, finite for big scores
        for (int j = 1; j <= t; ++j) mx = std::max(mx, sc[j]);
        double z = 0;
        for (int j = 0; j < s.Tn; ++j) z += std::exp(sc[j] - mx);
        lse[(b * s.H + h) * s.Tn + t] = mx + std::log(z);
        for (int j = 0; j < s.Tn; ++j)
          for (int e = 0; e < s.hd; ++e)
            out[(b * s.Tn + t) * s.H * s.hd + h * s.hd + e] +=
                std::exp(sc[j] - mx) / z * qkv[(b * s.Tn + j) * C3 + (s.H + s.KVH + kh) * s.hd + e];
      }
    }
}

TEST(Attention, ForwardMatchesNaiveSoftmax) {
  std::mt19937 rng(30);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("KVH=" + std::to_string(s.KVH));
    const Vec qkv = uniform(size_t(s.B) * s.Tn * s.C3(), rng, -2, 2);
    Vec out(size_t(s.B) * s.Tn * s.H * s.hd), lse(size_t(s.B) * s.H * s.Tn), rout, rlse;
    cpu::attention_forward(out.data(), lse.data(), qkv.data(), s.B, s.Tn, s.H, s.KVH, s.hd);
    naive_attention(qkv, s, rout, rlse);
    expect_near("out", out, rout, 1e-12);
    expect_near("lse", lse, rlse, 1e-12);
  }
}

TEST(Attention, ForwardIsStableForLargeScores) {
  // scores of several hundred overflow a float exp without the max subtraction. Near 1e3 a
  // float score carries ~1e-4 absolute rounding error, hence the looser tolerance here.
  const Shape s{1, 4, 2, 1, 4};
  std::mt19937 rng(31);
  Vec qkv = uniform(size_t(s.Tn) * s.C3(), rng, -1, 1);
  for (auto& v : qkv) v *= 30.0;
  std::vector<float> qf = cast<float>(qkv), out(s.Tn * s.H * s.hd), lse(s.H * s.Tn);
  cpu::attention_forward(out.data(), lse.data(), qf.data(), s.B, s.Tn, s.H, s.KVH, s.hd);
  for (float v : out) ASSERT_TRUE(std::isfinite(v));
  for (float v : lse) ASSERT_TRUE(std::isfinite(v));
  Vec rout, rlse;
  naive_attention(cast<double>(qf), s, rout, rlse);
  expect_float_matches("out", out, rout, 1e-3);
  expect_float_matches("lse", lse, rlse, 1e-6);
}

TEST(Attention, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(32);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE("KVH=" + std::to_string(s.KVH));
    const size_t nq = size_t(s.B) * s.Tn * s.C3(), no = size_t(s.B) * s.Tn * s.H * s.hd;
    Vec qkv = uniform(nq, rng, -1.5, 1.5);
    const Vec R = uniform(no, rng);
    Vec out(no), lse(size_t(s.B) * s.H * s.Tn);
    auto loss = [&] {
      cpu::attention_forward(out.data(), lse.data(), qkv.data(), s.B, s.Tn, s.H, s.KVH, s.hd);
      return dot(out, R);
    };
    loss();
    Vec dqkv(nq, std::numeric_limits<double>::quiet_NaN());  // written with =, every slot
    cpu::attention_backward(dqkv.data(), R.data(), qkv.data(), out.data(), lse.data(), s.B, s.Tn,
                            s.H, s.KVH, s.hd);
    expect_grad("dqkv", qkv, dqkv, loss);
  }
}

}  // namespace
}  // namespace merino::test

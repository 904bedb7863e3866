// bf16 on the host (rounding rules against hand-computed bit patterns) and the mixed-precision
// CPU backend against the double backend: every op runs on the same bf16-representable inputs
// in both; a bf16 output must be the exact result rounded once (within one bf16 ulp, 2^-7
// relative: the fp32 kernel's own error can move a value across a rounding boundary), an fp32
// output (gradients, statistics, losses) must match to fp32 accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/bf16.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/cpu_backend.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(bf16_round_nearest(1.0f).bits, 0x3f80);
  EXPECT_EQ(bf16_round_nearest(-2.0f).bits, 0xc000);
  EXPECT_EQ(bf16_round_nearest(-0.0f).bits, 0x8000);
  // the bf16 ulp at 1 is 2^-7: 1 + 2^-8 is a tie and goes to the even neighbour 1,
  // 1 + 3 * 2^-8 is a tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
  EXPECT_EQ(bf16_round_nearest(1.0f + 0x1p-8f).bits, 0x3f80);
  EXPECT_EQ(bf16_round_nearest(1.0f + 3 * 0x1p-8f).bits, 0x3f82);
  EXPECT_EQ(bf16_round_nearest(1.0f + 0x1p-8f + 0x1p-20f).bits, 0x3f81);  // just above the tie
  EXPECT_EQ(bf16_round_nearest(std::numeric_limits<float>::infinity()).bits, 0x7f80);
  EXPECT_EQ(bf16_round_nearest(from_bits(0x7f7fffffu)).bits, 0x7f80);  // FLT_MAX overflows
  EXPECT_TRUE(std::isnan(to_float(bf16_round_nearest(std::nanf("")))));
  EXPECT_TRUE(std::isnan(to_float(bf16_round_nearest(from_bits(0x7f800001u)))));  // low-bit NaN
  EXPECT_EQ(to_float(bf16{0x4049}), 3.140625f);
}

TEST(Bf16, StochasticRoundingIsExactOnRepresentableValuesAndUnbiased) {
  const uint64_t key = stochastic_round_key(7, 3);
  for (float x : {0.0f, 1.0f, -3.5f, 0x1p-100f, 65536.0f})
    for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(bf16_stochastic_round_bits(x, key, i), float_bits(x) >> 16);
  // 1 + 0.25 ulp rounds up a quarter of the time; the mean over many streams is the value
  const float x = 1.0f + 0.25f * 0x1p-7f;
  double sum = 0;
  int up = 0;
  constexpr int kDraws = 40000;
  for (int i = 0; i < kDraws; ++i) {
    const uint16_t b = bf16_stochastic_round_bits(x, key, uint64_t(i));
    ASSERT_TRUE(b == 0x3f80 || b == 0x3f81) << b;
    up += b == 0x3f81;
    sum += to_float(bf16{b});
  }
  // binomial(40000, 0.25): standard deviation 87 draws; 5 sigma
  EXPECT_NEAR(up, kDraws / 4, 435);
  EXPECT_NEAR(sum / kDraws, double(x), 5 * 87.0 / kDraws * 0x1p-7);
  // a different step draws a different stream
  int differ = 0;
  for (uint64_t i = 0; i < 64; ++i)
    differ += bf16_stochastic_round_bits(x, key, i) != bf16_stochastic_round_bits(x, stochastic_round_key(7, 4), i);
  EXPECT_GT(differ, 0);
}

// ---- the mixed-precision backend against the double one ----

// inputs both backends can hold exactly
Vec representable(Vec v) {
  for (double& x : v) x = double(to_float(bf16_round_nearest(float(x))));
  return v;
}

std::vector<bf16> to_bf16(const Vec& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_round_nearest(float(v[i]));
  return out;
}
Vec widen(const std::vector<bf16>& v) {
  Vec out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = double(to_float(v[i]));
  return out;
}

// a bf16 result against the exact one: within one ulp of it, plus an absolute floor for
// values that cancel to near zero (the fp32 kernel's own error relative to the largest value)
void expect_bf16_matches(const std::string& what, const std::vector<bf16>& got, const Vec& ref) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  const double floor = 1e-5 * max_abs(ref);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = double(to_float(got[i]));
    if (!(std::fabs(g - ref[i]) <= 0x1p-7 * std::fabs(ref[i]) + floor) && ++bad <= 5)
      ADD_FAILURE() << what << "[" << i << "]: " << g << " vs exact " << ref[i];
  }
  EXPECT_EQ(bad, 0) << what;
}

struct Bf16VsDouble : ::testing::Test {
  CpuBackend<bf16> lo;
  CpuBackend<double> ref;
  std::mt19937 rng{2026};
  Vec rand(size_t n, double scale = 1.0) { return representable(uniform(n, rng, -scale, scale)); }
};

TEST_F(Bf16VsDouble, Embedding) {
  constexpr int B = 2, Tn = 5, C = 24, V = 11, off = 2;
  const auto tok = randint(B * Tn, rng, 0, V);
  const Vec wte = rand(V * C), wpe = rand((Tn + off) * C), dout = rand(B * Tn * C);
  for (bool pos : {true, false}) {
    const auto e = to_bf16(wte), p = to_bf16(wpe);
    std::vector<bf16> out(B * Tn * C);
    Vec rout(out.size());
    lo.embedding_forward(out.data(), tok.data(), e.data(), pos ? p.data() : nullptr, B, Tn, C, off);
    ref.embedding_forward(rout.data(), tok.data(), wte.data(), pos ? wpe.data() : nullptr, B, Tn, C, off);
    expect_bf16_matches(pos ? "embedding with positions" : "embedding", out, rout);
  }
  const auto d = to_bf16(dout);
  std::vector<float> dwte(V * C, 0.5f), dwpe((Tn + off) * C, -0.25f);  // accumulated into
  Vec rdwte(V * C, 0.5), rdwpe((Tn + off) * C, -0.25);
  lo.embedding_backward(dwte.data(), dwpe.data(), d.data(), tok.data(), B, Tn, C, off);
  ref.embedding_backward(rdwte.data(), rdwpe.data(), dout.data(), tok.data(), B, Tn, C, off);
  expect_float_matches("dwte", dwte, rdwte);
  expect_float_matches("dwpe", dwpe, rdwpe);
}

TEST_F(Bf16VsDouble, LayerNormAndRmsNorm) {
  constexpr int N = 6, C = 40;
  const Vec x = rand(N * C, 2.0), w = rand(C), b = rand(C), dout = rand(N * C), dinp0 = rand(N * C);
  const auto xb = to_bf16(x), wb = to_bf16(w), bb = to_bf16(b), db = to_bf16(dout);
  for (bool layer : {true, false}) {
    const std::string kind = layer ? "layernorm " : "rmsnorm ";
    std::vector<bf16> out(N * C);
    std::vector<float> mean(N), rstd(N);
    Vec rout(N * C), rmean(N), rrstd(N);
    if (layer) {
      lo.layernorm_forward(out.data(), mean.data(), rstd.data(), xb.data(), wb.data(), bb.data(), N, C, 1e-5f);
      ref.layernorm_forward(rout.data(), rmean.data(), rrstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
      expect_float_matches(kind + "mean", mean, rmean);
    } else {
      lo.rmsnorm_forward(out.data(), rstd.data(), xb.data(), wb.data(), N, C, 1e-5f);
      ref.rmsnorm_forward(rout.data(), rrstd.data(), x.data(), w.data(), N, C, 1e-5);
    }
    expect_bf16_matches(kind + "out", out, rout);
    expect_float_matches(kind + "rstd", rstd, rrstd);
    // backward adds into a non-zero dinp (bf16) and dweight (fp32), with the same statistics
    const Vec st_mean(mean.begin(), mean.end()), st_rstd(rstd.begin(), rstd.end());
    std::vector<bf16> dinp = to_bf16(dinp0);
    std::vector<float> dw(C, 1.0f), dbias(C, 1.0f);
    Vec rdinp = dinp0, rdw(C, 1.0), rdb(C, 1.0);
    if (layer) {
      lo.layernorm_backward(dinp.data(), dw.data(), dbias.data(), db.data(), xb.data(), wb.data(),
                            mean.data(), rstd.data(), N, C);
      ref.layernorm_backward(rdinp.data(), rdw.data(), rdb.data(), dout.data(), x.data(), w.data(),
                             st_mean.data(), st_rstd.data(), N, C);
      expect_float_matches(kind + "dbias", dbias, rdb);
    } else {
      lo.rmsnorm_backward(dinp.data(), dw.data(), db.data(), xb.data(), wb.data(), rstd.data(), N, C);
      ref.rmsnorm_backward(rdinp.data(), rdw.data(), dout.data(), x.data(), w.data(), st_rstd.data(), N, C);
    }
    expect_bf16_matches(kind + "dinp", dinp, rdinp);
    expect_float_matches(kind + "dweight", dw, rdw);
  }
}

TEST_F(Bf16VsDouble, ResidualAddFusedWithNorm) {
  constexpr int N = 5, C = 24;
  const Vec a = rand(N * C), b = rand(N * C), w = rand(C), bias = rand(C);
  const auto ab = to_bf16(a), bb = to_bf16(b), wb = to_bf16(w), biasb = to_bf16(bias);
  for (bool layer : {true, false}) {
    // in place, as the model calls it: the sum overwrites a
    std::vector<bf16> sum = ab, out(N * C);
    std::vector<float> mean(N), rstd(N);
    if (layer)
      lo.residual_layernorm_forward(sum.data(), out.data(), mean.data(), rstd.data(), sum.data(), bb.data(),
                                    wb.data(), biasb.data(), N, C, 1e-5f);
    else
      lo.residual_rmsnorm_forward(sum.data(), out.data(), rstd.data(), sum.data(), bb.data(), wb.data(), N, C,
                                  1e-5f);
    Vec rsum(N * C), rout(N * C), rmean(N), rrstd(N);
    for (size_t i = 0; i < rsum.size(); ++i) rsum[i] = a[i] + b[i];
    expect_bf16_matches("residual sum", sum, rsum);
    // the norm reads the sum as stored in bf16
    const Vec stored = widen(sum);
    if (layer)
      ref.layernorm_forward(rout.data(), rmean.data(), rrstd.data(), stored.data(), w.data(), bias.data(), N, C,
                            1e-5);
    else
      ref.rmsnorm_forward(rout.data(), rrstd.data(), stored.data(), w.data(), N, C, 1e-5);
    expect_bf16_matches(layer ? "residual + layernorm" : "residual + rmsnorm", out, rout);
    expect_float_matches("rstd", rstd, rrstd);
  }
}

TEST_F(Bf16VsDouble, Matmul) {
  constexpr int N = 7, IC = 24, OC = 17;
  const Vec x = rand(N * IC), w = rand(OC * IC), b = rand(OC), dout = rand(N * OC);
  const auto xb = to_bf16(x), wb = to_bf16(w), bb = to_bf16(b), db = to_bf16(dout);
  std::vector<bf16> out(N * OC);
  Vec rout(N * OC);
  lo.matmul_forward(out.data(), xb.data(), wb.data(), bb.data(), N, IC, OC);
  ref.matmul_forward(rout.data(), x.data(), w.data(), b.data(), N, IC, OC);
  expect_bf16_matches("matmul out", out, rout);
  for (bool with_dinp : {true, false}) {
    std::vector<bf16> dinp(with_dinp ? N * IC : 0);
    std::vector<float> dw(OC * IC, 0.5f), dbias(OC, 0.5f);
    Vec rdinp(N * IC), rdw(OC * IC, 0.5), rdb(OC, 0.5);
    lo.matmul_backward(with_dinp ? dinp.data() : nullptr, dw.data(), dbias.data(), db.data(), xb.data(),
                       wb.data(), N, IC, OC);
    ref.matmul_backward(rdinp.data(), rdw.data(), rdb.data(), dout.data(), x.data(), w.data(), N, IC, OC);
    if (with_dinp) expect_bf16_matches("matmul dinp", dinp, rdinp);
    expect_float_matches("matmul dweight", dw, rdw);
    expect_float_matches("matmul dbias", dbias, rdb);
  }
}

// the GELU of the fp32 product, as a GEMM epilogue computes it: out is within one bf16 ulp of
// the exact gelu(x W^T + b) even where gelu is steep relative to its value (x near -0.75, say),
// which rounding the product to bf16 first would not be; pre is the rounded product
TEST_F(Bf16VsDouble, MatmulGelu) {
  constexpr int N = 9, IC = 32, OC = 40;
  const Vec x = rand(N * IC), w = rand(OC * IC, 0.5), b = rand(OC);
  const auto xb = to_bf16(x), wb = to_bf16(w), bb = to_bf16(b);
  std::vector<bf16> out(N * OC), pre(N * OC);
  Vec rout(N * OC), rpre(N * OC);
  lo.matmul_gelu_forward(out.data(), pre.data(), xb.data(), wb.data(), bb.data(), N, IC, OC);
  ref.matmul_gelu_forward(rout.data(), rpre.data(), x.data(), w.data(), b.data(), N, IC, OC);
  expect_bf16_matches("matmul+gelu pre", pre, rpre);
  expect_bf16_matches("matmul+gelu out", out, rout);
  Vec unfused(N * OC);
  ref.gelu_forward(unfused.data(), rpre.data(), unfused.size());
  for (size_t i = 0; i < unfused.size(); ++i) ASSERT_EQ(unfused[i], rout[i]) << "double: gelu of pre";
}

// dpre = gelu'(pre) times the fp32 product dout W, rounded once, as the GPU's DGELU epilogue
// stores it: within one bf16 rounding of the exact value; dweight and dbias stay fp32.
TEST_F(Bf16VsDouble, MatmulGeluBackward) {
  constexpr int N = 9, IC = 40, OC = 24;
  const Vec pre = rand(N * IC, 2.0), w = rand(OC * IC, 0.5), dout = rand(N * OC);
  const auto pb = to_bf16(pre), wb = to_bf16(w), db = to_bf16(dout);
  std::vector<bf16> inp(N * IC);
  lo.gelu_forward(inp.data(), pb.data(), inp.size());
  const Vec rpre = widen(pb), rinp = widen(inp), rw = widen(wb), rdout = widen(db);
  std::vector<bf16> dpre(N * IC);
  std::vector<float> dw(OC * IC, 0.5f), dbias(OC, 0.5f);
  Vec rdpre(N * IC), rdw(OC * IC, 0.5), rdb(OC, 0.5);
  lo.matmul_gelu_backward(dpre.data(), dw.data(), dbias.data(), db.data(), inp.data(), pb.data(),
                          wb.data(), N, IC, OC);
  ref.matmul_gelu_backward(rdpre.data(), rdw.data(), rdb.data(), rdout.data(), rinp.data(),
                           rpre.data(), rw.data(), N, IC, OC);
  expect_bf16_matches("matmul+gelu dpre", dpre, rdpre);
  expect_float_matches("matmul+gelu dweight", dw, rdw);
  expect_float_matches("matmul+gelu dbias", dbias, rdb);
}

TEST_F(Bf16VsDouble, AttentionAndRope) {
  constexpr int B = 2, Tn = 9, H = 6, KVH = 2, hd = 8;
  const size_t nq = size_t(B) * Tn * (H + 2 * KVH) * hd, no = size_t(B) * Tn * H * hd;
  const Vec qkv = rand(nq, 2.0), dout = rand(no);
  const auto qb = to_bf16(qkv), db = to_bf16(dout);
  std::vector<bf16> out(no);
  std::vector<float> lse(size_t(B) * H * Tn);
  Vec rout(no), rlse(lse.size());
  lo.attention_forward(out.data(), lse.data(), qb.data(), B, Tn, H, KVH, hd);
  ref.attention_forward(rout.data(), rlse.data(), qkv.data(), B, Tn, H, KVH, hd);
  expect_bf16_matches("attention out", out, rout);
  expect_float_matches("attention lse", lse, rlse);
  // backward from the same saved tensors: the bf16 out, and lse as fp32 holds it
  const Vec out_saved = widen(out), lse_saved(lse.begin(), lse.end());
  std::vector<bf16> dqkv(nq);
  Vec rdqkv(nq);
  lo.attention_backward(dqkv.data(), db.data(), qb.data(), out.data(), lse.data(), B, Tn, H, KVH, hd);
  ref.attention_backward(rdqkv.data(), dout.data(), qkv.data(), out_saved.data(), lse_saved.data(), B, Tn,
                         H, KVH, hd);
  expect_bf16_matches("attention dqkv", dqkv, rdqkv);

  std::vector<bf16> q = qb;
  Vec rq = qkv;
  lo.rope_forward(q.data(), B, Tn, H, KVH, hd, 10000.0);
  ref.rope_forward(rq.data(), B, Tn, H, KVH, hd, 10000.0);
  expect_bf16_matches("rope forward", q, rq);
  q = qb;
  rq = qkv;
  lo.rope_backward(q.data(), B, Tn, H, KVH, hd, 10000.0);
  ref.rope_backward(rq.data(), B, Tn, H, KVH, hd, 10000.0);
  expect_bf16_matches("rope backward", q, rq);
}

// The cache keeps bf16 k/v exactly as the packed rows hold them; out is rounded once.
TEST_F(Bf16VsDouble, CachedAttentionAndRopeAt) {
  constexpr int B = 2, H = 6, KVH = 2, hd = 8, cap = 7, past = 3, n = 2;
  const size_t nq = size_t(B) * n * (H + 2 * KVH) * hd, no = size_t(B) * n * H * hd;
  const size_t nc = size_t(B) * cap * KVH * hd;
  const Vec qkv = rand(nq, 2.0), k0 = rand(nc, 2.0), v0 = rand(nc, 2.0);
  auto kb = to_bf16(k0), vb = to_bf16(v0);
  Vec rk = k0, rv = v0, rout(no);
  std::vector<bf16> out(no);
  lo.attention_cached_forward(out.data(), kb.data(), vb.data(), to_bf16(qkv).data(), B, n,
                              past + n, cap, H, KVH, hd);
  ref.attention_cached_forward(rout.data(), rk.data(), rv.data(), qkv.data(), B, n, past + n, cap,
                               H, KVH, hd);
  expect_bf16_matches("cached attention out", out, rout);
  EXPECT_EQ(widen(kb), rk);
  EXPECT_EQ(widen(vb), rv);

  std::vector<bf16> q = to_bf16(qkv);
  Vec rq = qkv;
  lo.rope_forward_at(q.data(), B, n, H, KVH, hd, 10000.0, 5);
  ref.rope_forward_at(rq.data(), B, n, H, KVH, hd, 10000.0, 5);
  expect_bf16_matches("rope forward at 5", q, rq);
}

TEST_F(Bf16VsDouble, ElementwiseOps) {
  constexpr int N = 5, F = 12;
  const size_t n = size_t(N) * F;
  const Vec x = rand(2 * n, 3.0), d = rand(2 * n), y = rand(n);
  const auto xb = to_bf16(x), dbf = to_bf16(d), yb = to_bf16(y);
  std::vector<bf16> o(2 * n);
  Vec r(2 * n);
  lo.gelu_forward(o.data(), xb.data(), n);
  ref.gelu_forward(r.data(), x.data(), n);
  expect_bf16_matches("gelu", {o.begin(), o.begin() + n}, {r.begin(), r.begin() + n});
  lo.gelu_backward(o.data(), dbf.data(), xb.data(), n);
  ref.gelu_backward(r.data(), d.data(), x.data(), n);
  expect_bf16_matches("gelu backward", {o.begin(), o.begin() + n}, {r.begin(), r.begin() + n});
  lo.relu_forward(o.data(), xb.data(), n);
  ref.relu_forward(r.data(), x.data(), n);
  expect_bf16_matches("relu", {o.begin(), o.begin() + n}, {r.begin(), r.begin() + n});
  lo.relu_backward(o.data(), dbf.data(), xb.data(), n);
  ref.relu_backward(r.data(), d.data(), x.data(), n);
  expect_bf16_matches("relu backward", {o.begin(), o.begin() + n}, {r.begin(), r.begin() + n});
  lo.swiglu_forward(o.data(), xb.data(), N, F);
  ref.swiglu_forward(r.data(), x.data(), N, F);
  expect_bf16_matches("swiglu", {o.begin(), o.begin() + n}, {r.begin(), r.begin() + n});
  lo.swiglu_backward(o.data(), dbf.data(), xb.data(), N, F);
  ref.swiglu_backward(r.data(), d.data(), x.data(), N, F);
  expect_bf16_matches("swiglu backward", o, r);
  std::vector<bf16> acc = yb;
  Vec racc = y;
  lo.accumulate(acc.data(), xb.data(), n);
  ref.accumulate(racc.data(), x.data(), n);
  expect_bf16_matches("accumulate", acc, racc);
  lo.residual_forward(acc.data(), yb.data(), dbf.data(), n);
  ref.residual_forward(racc.data(), y.data(), d.data(), n);
  expect_bf16_matches("residual", acc, racc);
}

TEST_F(Bf16VsDouble, CrossEntropy) {
  constexpr int N = 6, V = 37;
  const Vec logits = rand(N * V, 4.0);
  auto targets = randint(N, rng, 0, V);
  targets[2] = -1;
  std::vector<bf16> lb = to_bf16(logits);
  std::vector<float> losses(N);
  Vec rl = logits, rlosses(N);
  lo.crossentropy_forward(losses.data(), lb.data(), targets.data(), N, V, V, -1);
  ref.crossentropy_forward(rlosses.data(), rl.data(), targets.data(), N, V, V, -1);
  expect_float_matches("losses", losses, rlosses);
  lo.crossentropy_forward_backward(lb.data(), losses.data(), targets.data(), N, V, V, -1, 0.5f);
  ref.crossentropy_forward_backward(rl.data(), rlosses.data(), targets.data(), N, V, V, -1, 0.5);
  expect_float_matches("losses (fused)", losses, rlosses);
  expect_bf16_matches("dlogits", lb, rl);
}

TEST_F(Bf16VsDouble, AdamWUpdatesMasterAndRoundsTheWorkingCopy) {
  constexpr size_t n = 300, off = 1000;
  const Vec p0 = uniform(n, rng), g0 = uniform(n, rng), m0 = uniform(n, rng, -0.1, 0.1),
            v0 = uniform(n, rng, 0.0, 0.01);
  AdamWStep s;
  s.lr = 1e-2;
  s.weight_decay = 0.1;
  s.step = 5;
  s.grad_scale = 0.5;
  s.round_seed = 99;
  std::vector<float> master = cast<float>(p0), g = cast<float>(g0), m = cast<float>(m0), v = cast<float>(v0);
  std::vector<float> want = master, wm = m, wv = v;
  cpu::adamw_update(want.data(), g.data(), wm.data(), wv.data(), n, s);
  std::vector<bf16> params(n);
  lo.adamw_update(master.data(), params.data(), g.data(), m.data(), v.data(), n, s, off);
  EXPECT_EQ(master, want);  // the fp32 reference, bit for bit
  EXPECT_EQ(m, wm);
  EXPECT_EQ(v, wv);
  const uint64_t key = stochastic_round_key(99, 5);
  int rounded_up = 0;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(params[i].bits, bf16_stochastic_round_bits(want[i], key, off + i)) << i;
    rounded_up += std::fabs(to_float(params[i])) > std::fabs(want[i]);
  }
  EXPECT_GT(rounded_up, 0);  // stochastic, not truncation
  EXPECT_LT(rounded_up, int(n));
  // narrow with the same step reproduces the copy
  std::vector<bf16> again(n);
  lo.narrow(again.data(), master.data(), n, s, off);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(again[i].bits, params[i].bits) << i;
  EXPECT_DOUBLE_EQ(lo.sum_squares(g.data(), n), cpu::sum_squares(g.data(), n));
}

}  // namespace
}  // namespace merino::test

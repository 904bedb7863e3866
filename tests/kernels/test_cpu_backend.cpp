#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/rope.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

TEST(CpuBackend, AllocatesZeroedAlignedMemory) {
  CpuBackend<float> be;
  EXPECT_EQ(be.name(), "cpu");
  for (size_t n : {size_t(0), size_t(1), size_t(17), size_t(1000)}) {
    float* p = be.alloc(n);
    int32_t* q = be.alloc_index(n);
    ASSERT_NE(p, nullptr);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 64, 0u);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(p[i], 0.0f);
      EXPECT_EQ(q[i], 0);
    }
    be.release(p);
    be.release(q);
  }
}

TEST(CpuBackend, CopiesAndZeroes) {
  CpuBackend<double> be;
  const std::vector<double> src = {1.5, -2.0, 3.25};
  const std::vector<int32_t> isrc = {7, -1, 42};
  double* p = be.alloc(3);
  int32_t* q = be.alloc_index(3);
  be.upload(p, src.data(), 3);
  be.upload(q, isrc.data(), 3);
  std::vector<double> back(3);
  be.download(back.data(), p, 3);
  EXPECT_EQ(back, src);
  EXPECT_EQ(std::vector<int32_t>(q, q + 3), isrc);
  be.zero(p, 2);
  be.download(back.data(), p, 3);
  EXPECT_EQ(back, (std::vector<double>{0.0, 0.0, 3.25}));
  be.release(p);
  be.release(q);
}

TEST(CpuBackend, ProfilesOnlyWhenEnabled) {
  CpuBackend<float> be;
  std::vector<float> x(64, 1.0f), y(64);
  be.gelu_forward(y.data(), x.data(), x.size());
  EXPECT_TRUE(be.profile().empty());
  be.enable_profile(true);
  be.gelu_forward(y.data(), x.data(), x.size());
  be.matmul_forward(y.data(), x.data(), x.data(), nullptr, 8, 8, 1);
  ASSERT_EQ(be.profile().size(), 2u);
  EXPECT_GE(be.profile().at("gelu_forward"), 0.0);
  EXPECT_GE(be.profile().at("matmul_forward"), 0.0);
  be.reset_profile();
  EXPECT_TRUE(be.profile().empty());
  be.enable_profile(false);
  be.relu_forward(y.data(), x.data(), x.size());
  EXPECT_TRUE(be.profile().empty());
}

// Every op through the Backend interface must equal the free kernel it forwards to, called
// with the same arguments: catches swapped or dropped arguments in the forwarding layer.
// The dimensions are all distinct so that a swap changes the result.
// The fused c_proj + GELU backward against naive loops: dpre = (dout W) * gelu'(pre), with the
// derivative of the tanh-approximation GELU written out here; dweight and dbias accumulate.
TEST(CpuBackend, MatmulGeluBackwardIsGeluBackwardOfTheInputGradient) {
  CpuBackend<double> be;
  std::mt19937 rng(91);
  constexpr int N = 6, IC = 7, OC = 5;
  const Vec pre = uniform(N * IC, rng, -3, 3), w = uniform(OC * IC, rng), d = uniform(N * OC, rng);
  Vec inp(N * IC);
  be.gelu_forward(inp.data(), pre.data(), inp.size());
  Vec dpre(N * IC, 1e30), dw = uniform(OC * IC, rng), db = uniform(OC, rng);
  Vec want_dw = dw, want_db = db, want_dpre(N * IC);
  be.matmul_gelu_backward(dpre.data(), dw.data(), db.data(), d.data(), inp.data(), pre.data(),
                          w.data(), N, IC, OC);
  const double k = std::sqrt(2.0 / M_PI), a = 0.044715;
  for (int n = 0; n < N; ++n) {
    for (int i = 0; i < IC; ++i) {
      double g = 0;
      for (int o = 0; o < OC; ++o) g += d[n * OC + o] * w[o * IC + i];
      const double x = pre[n * IC + i], t = std::tanh(k * (x + a * x * x * x));
      const double gelu_prime = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x);
      want_dpre[n * IC + i] = g * gelu_prime;
    }
  }
  for (int o = 0; o < OC; ++o) {
    for (int n = 0; n < N; ++n) {
      want_db[o] += d[n * OC + o];
      for (int i = 0; i < IC; ++i) want_dw[o * IC + i] += d[n * OC + o] * inp[n * IC + i];
    }
  }
  expect_near("dpre", dpre, want_dpre, 1e-12);
  expect_near("dweight", dw, want_dw, 1e-12);
  expect_near("dbias", db, want_db, 1e-12);
}

TEST(CpuBackend, ForwardsEveryOp) {
  CpuBackend<double> impl;
  Backend<double>& be = impl;
  std::mt19937 rng(90);
  constexpr int B = 2, Tn = 3, C = 8, V = 11, H = 4, KVH = 2, hd = 2, F = 5, off = 1;
  constexpr int C3 = (H + 2 * KVH) * hd, N = B * Tn;
  const auto tok = randint(N, rng, 0, V);
  auto r = [&](size_t n) { return uniform(n, rng); };
  auto same = [](const char* what, const Vec& a, const Vec& b) { expect_near(what, a, b, 0.0); };

  {
    const Vec wte = r(V * C), wpe = r((Tn + off) * C), d = r(N * C);
    Vec o1(N * C), o2(N * C), g1 = r(V * C), g2 = g1, p1 = r((Tn + off) * C), p2 = p1;
    be.embedding_forward(o1.data(), tok.data(), wte.data(), wpe.data(), B, Tn, C, off);
    cpu::embedding_forward(o2.data(), tok.data(), wte.data(), wpe.data(), B, Tn, C, off);
    be.embedding_backward(g1.data(), p1.data(), d.data(), tok.data(), B, Tn, C, off);
    cpu::embedding_backward(g2.data(), p2.data(), d.data(), tok.data(), B, Tn, C, off);
    same("embedding out", o1, o2);
    same("dwte", g1, g2);
    same("dwpe", p1, p2);
  }
  {
    const Vec x = r(N * C), w = r(C), b = r(C), d = r(N * C);
    Vec o1(N * C), o2(N * C), m1(N), m2(N), s1(N), s2(N);
    Vec dx1 = r(N * C), dx2 = dx1, dw1 = r(C), dw2 = dw1, db1 = r(C), db2 = db1;
    be.layernorm_forward(o1.data(), m1.data(), s1.data(), x.data(), w.data(), b.data(), N, C, 1e-3);
    cpu::layernorm_forward(o2.data(), m2.data(), s2.data(), x.data(), w.data(), b.data(), N, C,
                           1e-3);
    be.layernorm_backward(dx1.data(), dw1.data(), db1.data(), d.data(), x.data(), w.data(),
                          m1.data(), s1.data(), N, C);
    cpu::layernorm_backward(dx2.data(), dw2.data(), db2.data(), d.data(), x.data(), w.data(),
                            m2.data(), s2.data(), N, C);
    for (auto [a, c] :
         {std::pair{&o1, &o2}, {&m1, &m2}, {&s1, &s2}, {&dx1, &dx2}, {&dw1, &dw2}, {&db1, &db2}})
      same("layernorm", *a, *c);
    be.rmsnorm_forward(o1.data(), s1.data(), x.data(), w.data(), N, C, 1e-3);
    cpu::rmsnorm_forward(o2.data(), s2.data(), x.data(), w.data(), N, C, 1e-3);
    be.rmsnorm_backward(dx1.data(), dw1.data(), d.data(), x.data(), w.data(), s1.data(), N, C);
    cpu::rmsnorm_backward(dx2.data(), dw2.data(), d.data(), x.data(), w.data(), s2.data(), N, C);
    for (auto [a, c] : {std::pair{&o1, &o2}, {&s1, &s2}, {&dx1, &dx2}, {&dw1, &dw2}})
      same("rmsnorm", *a, *c);
  }
  {
    constexpr int OC = 5;
    const Vec x = r(N * C), w = r(OC * C), b = r(OC), d = r(N * OC);
    Vec o1(N * OC), o2(N * OC), dx1(N * C), dx2(N * C), dw1 = r(OC * C), dw2 = dw1, db1 = r(OC),
                                                        db2 = db1;
    be.matmul_forward(o1.data(), x.data(), w.data(), b.data(), N, C, OC);
    cpu::matmul_forward(o2.data(), x.data(), w.data(), b.data(), N, C, OC);
    be.matmul_backward(dx1.data(), dw1.data(), db1.data(), d.data(), x.data(), w.data(), N, C, OC);
    cpu::matmul_backward(dx2.data(), dw2.data(), db2.data(), d.data(), x.data(), w.data(), N, C,
                         OC);
    for (auto [a, c] : {std::pair{&o1, &o2}, {&dx1, &dx2}, {&dw1, &dw2}, {&db1, &db2}})
      same("matmul", *a, *c);
  }
  {
    const Vec qkv = r(N * C3), d = r(N * H * hd);
    Vec o1(N * H * hd), o2(N * H * hd), l1(B * H * Tn), l2(B * H * Tn), g1(N * C3), g2(N * C3);
    be.attention_forward(o1.data(), l1.data(), qkv.data(), B, Tn, H, KVH, hd);
    cpu::attention_forward(o2.data(), l2.data(), qkv.data(), B, Tn, H, KVH, hd);
    be.attention_backward(g1.data(), d.data(), qkv.data(), o1.data(), l1.data(), B, Tn, H, KVH, hd);
    cpu::attention_backward(g2.data(), d.data(), qkv.data(), o2.data(), l2.data(), B, Tn, H, KVH,
                            hd);
    for (auto [a, c] : {std::pair{&o1, &o2}, {&l1, &l2}, {&g1, &g2}}) same("attention", *a, *c);
    Vec f1 = qkv, f2 = qkv, b1 = d, b2 = d;
    be.rope_forward(f1.data(), B, Tn, H, KVH, hd, 100.0);
    cpu::rope_forward(f2.data(), B, Tn, H, KVH, hd, 100.0);
    be.rope_backward(g1.data(), B, Tn, H, KVH, hd, 100.0);
    cpu::rope_backward(g2.data(), B, Tn, H, KVH, hd, 100.0);
    same("rope_forward", f1, f2);
    same("rope_backward", g1, g2);
  }
  {
    const Vec x = r(N * 2 * F), d = r(N * 2 * F);
    const size_t n = x.size();
    Vec a1(n), a2(n), b1(n), b2(n);
    be.gelu_forward(a1.data(), x.data(), n);
    cpu::gelu_forward(a2.data(), x.data(), n);
    be.gelu_backward(b1.data(), d.data(), x.data(), n);
    cpu::gelu_backward(b2.data(), d.data(), x.data(), n);
    same("gelu", a1, a2);
    same("gelu_backward", b1, b2);
    be.relu_forward(a1.data(), x.data(), n);
    cpu::relu_forward(a2.data(), x.data(), n);
    be.relu_backward(b1.data(), d.data(), x.data(), n);
    cpu::relu_backward(b2.data(), d.data(), x.data(), n);
    same("relu", a1, a2);
    same("relu_backward", b1, b2);
    be.swiglu_forward(a1.data(), x.data(), N, F);
    cpu::swiglu_forward(a2.data(), x.data(), N, F);
    be.swiglu_backward(b1.data(), d.data(), x.data(), N, F);
    cpu::swiglu_backward(b2.data(), d.data(), x.data(), N, F);
    same("swiglu", a1, a2);
    same("swiglu_backward", b1, b2);
    be.residual_forward(a1.data(), x.data(), d.data(), n);
    cpu::residual_forward(a2.data(), x.data(), d.data(), n);
    be.accumulate(b1.data(), x.data(), n);
    cpu::accumulate(b2.data(), x.data(), n);
    same("residual", a1, a2);
    same("accumulate", b1, b2);
  }
  {
    auto tg = randint(N, rng, 0, V);
    tg[2] = -7;
    Vec lg1 = r(N * V), lg2 = lg1, l1(N), l2(N);
    be.crossentropy_forward(l1.data(), lg1.data(), tg.data(), N, V, V, -7);
    cpu::crossentropy_forward(l2.data(), lg2.data(), tg.data(), N, V, V, -7);
    same("crossentropy", l1, l2);
    be.crossentropy_forward_backward(lg1.data(), l1.data(), tg.data(), N, V, V, -7, 0.3);
    cpu::crossentropy_forward_backward(lg2.data(), l2.data(), tg.data(), N, V, V, -7, 0.3);
    same("crossentropy losses", l1, l2);
    same("crossentropy dlogits", lg1, lg2);
  }
}

}  // namespace
}  // namespace merino::test

// Float against double for every op (the float instantiation is what trains, the double one is
// what the gradient checks validate), and bit-for-bit independence from the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/rope.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

// Runs op(T{}) for T = double and T = float; op casts its (double) inputs to T and returns
// its outputs, each of which must agree to rtol norm-wise (see expect_float_matches).
template <class Op>
void compare_precisions(const std::string& what, Op op, double rtol = 1e-5) {
  const std::vector<std::vector<double>> d = op(double{});
  const std::vector<std::vector<float>> f = op(float{});
  ASSERT_EQ(d.size(), f.size());
  for (size_t k = 0; k < d.size(); ++k)
    expect_float_matches(what + " output " + std::to_string(k), f[k], d[k], rtol);
}

template <class T>
using Outs = std::vector<std::vector<T>>;

TEST(FloatVsDouble, Embedding) {
  constexpr int B = 2, Tn = 8, C = 48, V = 20;
  std::mt19937 rng(80);
  const auto tok = randint(B * Tn, rng, 0, V);
  const Vec wte = uniform(V * C, rng), wpe = uniform(Tn * C, rng), dout = uniform(B * Tn * C, rng);
  compare_precisions("embedding", [&](auto tag) {
    using T = decltype(tag);
    const auto e = cast<T>(wte), p = cast<T>(wpe), d = cast<T>(dout);
    std::vector<T> out(B * Tn * C), dwte(V * C), dwpe(Tn * C);
    cpu::embedding_forward(out.data(), tok.data(), e.data(), p.data(), B, Tn, C, 0);
    cpu::embedding_backward(dwte.data(), dwpe.data(), d.data(), tok.data(), B, Tn, C, 0);
    return Outs<T>{out, dwte, dwpe};
  });
}

TEST(FloatVsDouble, Norms) {
  constexpr int N = 16, C = 64;
  std::mt19937 rng(81);
  Vec x = uniform(N * C, rng);
  for (auto& v : x) v += 1.0;
  const Vec w = uniform(C, rng, 0.5, 1.5), b = uniform(C, rng), dout = uniform(N * C, rng);
  compare_precisions("layernorm", [&](auto tag) {
    using T = decltype(tag);
    const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dt = cast<T>(dout);
    std::vector<T> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C);
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), xt.data(), wt.data(), bt.data(), N,
                           C, T(1e-5));
    cpu::layernorm_backward(dx.data(), dw.data(), db.data(), dt.data(), xt.data(), wt.data(),
                            mean.data(), rstd.data(), N, C);
    return Outs<T>{out, mean, rstd, dx, dw, db};
  });
  compare_precisions("rmsnorm", [&](auto tag) {
    using T = decltype(tag);
    const auto xt = cast<T>(x), wt = cast<T>(w), dt = cast<T>(dout);
    std::vector<T> out(N * C), rstd(N), dx(N * C), dw(C);
    cpu::rmsnorm_forward(out.data(), rstd.data(), xt.data(), wt.data(), N, C, T(1e-5));
    cpu::rmsnorm_backward(dx.data(), dw.data(), dt.data(), xt.data(), wt.data(), rstd.data(), N, C);
    return Outs<T>{out, rstd, dx, dw};
  });
}

TEST(FloatVsDouble, Matmul) {
  constexpr int N = 16, IC = 64, OC = 48;
  std::mt19937 rng(82);
  const Vec x = uniform(N * IC, rng), w = uniform(OC * IC, rng), b = uniform(OC, rng),
            dout = uniform(N * OC, rng);
  compare_precisions("matmul", [&](auto tag) {
    using T = decltype(tag);
    const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dt = cast<T>(dout);
    std::vector<T> out(N * OC), dx(N * IC), dw(OC * IC), db(OC);
    cpu::matmul_forward(out.data(), xt.data(), wt.data(), bt.data(), N, IC, OC);
    cpu::matmul_backward(dx.data(), dw.data(), db.data(), dt.data(), xt.data(), wt.data(), N, IC,
                         OC);
    return Outs<T>{out, dx, dw, db};
  });
}

TEST(FloatVsDouble, AttentionAndRope) {
  constexpr int B = 2, Tn = 16, H = 4, KVH = 2, hd = 16, C3 = (H + 2 * KVH) * hd;
  std::mt19937 rng(83);
  const Vec qkv = uniform(B * Tn * C3, rng, -2, 2), dout = uniform(B * Tn * H * hd, rng);
  compare_precisions("attention", [&](auto tag) {
    using T = decltype(tag);
    const auto q = cast<T>(qkv), d = cast<T>(dout);
    std::vector<T> out(B * Tn * H * hd), lse(B * H * Tn), dq(B * Tn * C3);
    cpu::attention_forward(out.data(), lse.data(), q.data(), B, Tn, H, KVH, hd);
    cpu::attention_backward(dq.data(), d.data(), q.data(), out.data(), lse.data(), B, Tn, H, KVH,
                            hd);
    return Outs<T>{out, lse, dq};
  });
  compare_precisions("rope", [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> fwd = cast<T>(qkv), bwd = cast<T>(qkv);
    cpu::rope_forward(fwd.data(), B, Tn, H, KVH, hd, 10000.0);
    cpu::rope_backward(bwd.data(), B, Tn, H, KVH, hd, 10000.0);
    return Outs<T>{fwd, bwd};
  });
}

TEST(FloatVsDouble, ActivationsAndElementwise) {
  constexpr int N = 8, F = 32, n = N * F;
  std::mt19937 rng(84);
  const Vec x = uniform(2 * n, rng, -4, 4), y = uniform(2 * n, rng), dout = uniform(2 * n, rng);
  compare_precisions("pointwise", [&](auto tag) {
    using T = decltype(tag);
    const auto xt = cast<T>(x), yt = cast<T>(y), dt = cast<T>(dout);
    std::vector<T> g(n), dg(n), r(n), dr(n), s(n), ds(2 * n), res(n), acc = yt;
    cpu::gelu_forward(g.data(), xt.data(), n);
    cpu::gelu_backward(dg.data(), dt.data(), xt.data(), n);
    cpu::relu_forward(r.data(), xt.data(), n);
    cpu::relu_backward(dr.data(), dt.data(), xt.data(), n);
    cpu::swiglu_forward(s.data(), xt.data(), N, F);
    cpu::swiglu_backward(ds.data(), dt.data(), xt.data(), N, F);
    cpu::residual_forward(res.data(), xt.data(), yt.data(), n);
    cpu::accumulate(acc.data(), xt.data(), 2 * n);
    return Outs<T>{g, dg, r, dr, s, ds, res, acc};
  });
}

TEST(FloatVsDouble, CrossEntropy) {
  constexpr int N = 8, V = 100;
  std::mt19937 rng(85);
  const Vec logits = uniform(N * V, rng, -5, 5);
  auto tg = randint(N, rng, 0, V);
  tg[3] = -1;
  compare_precisions("crossentropy", [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> lg = cast<T>(logits), l1(N), l2(N);
    cpu::crossentropy_forward(l1.data(), lg.data(), tg.data(), N, V, V, -1);
    cpu::crossentropy_forward_backward(lg.data(), l2.data(), tg.data(), N, V, V, -1, T(0.125));
    return Outs<T>{l1, l2, lg};
  });
}

// Runs op() (returning its float outputs) with 1 and with 3 OpenMP threads; the shapes are
// above the kernels' parallel thresholds, and every output must match bit for bit.
template <class Op>
void expect_thread_independent(const char* what, Op op) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Outs<float> one = op();
  omp_set_num_threads(3);
  const Outs<float> three = op();
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), three.size());
  for (size_t k = 0; k < one.size(); ++k)
    EXPECT_EQ(0, std::memcmp(one[k].data(), three[k].data(), one[k].size() * sizeof(float)))
        << what << " output " << k << " depends on the thread count";
}

TEST(Determinism, ReductionsIndependentOfThreadCount) {
  constexpr int N = 512, C = 96, V = 50;
  std::mt19937 rng(86);
  const auto x = cast<float>(uniform(N * C, rng)), w = cast<float>(uniform(C * C, rng)),
             d = cast<float>(uniform(N * C, rng));
  const auto tok = randint(N, rng, 0, V);
  expect_thread_independent("embedding_backward", [&] {
    std::vector<float> dwte(V * C), dwpe(N * C);
    cpu::embedding_backward(dwte.data(), dwpe.data(), d.data(), tok.data(), 1, N, C, 0);
    return Outs<float>{dwte, dwpe};
  });
  expect_thread_independent("norms_backward", [&] {
    std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C), dw(C), db(C), dx2(N * C), dw2(C);
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), w.data(), N, C,
                           1e-5f);
    cpu::layernorm_backward(dx.data(), dw.data(), db.data(), d.data(), x.data(), w.data(),
                            mean.data(), rstd.data(), N, C);
    cpu::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    cpu::rmsnorm_backward(dx2.data(), dw2.data(), d.data(), x.data(), w.data(), rstd.data(), N, C);
    return Outs<float>{dx, dw, db, dx2, dw2};
  });
  expect_thread_independent("matmul_backward bias", [&] {
    std::vector<float> dw(C * C), db(C);
    cpu::matmul_backward((float*)nullptr, dw.data(), db.data(), d.data(), x.data(), w.data(), N, C,
                         C);
    return Outs<float>{db};
  });
  constexpr int B = 2, Tn = 32, H = 6, KVH = 2, hd = 16;
  const auto qkv = cast<float>(uniform(B * Tn * (H + 2 * KVH) * hd, rng));
  expect_thread_independent("attention", [&] {
    std::vector<float> out(B * Tn * H * hd), lse(B * H * Tn), dq(qkv.size());
    cpu::attention_forward(out.data(), lse.data(), qkv.data(), B, Tn, H, KVH, hd);
    cpu::attention_backward(dq.data(), x.data(), qkv.data(), out.data(), lse.data(), B, Tn, H, KVH,
                            hd);
    return Outs<float>{out, lse, dq};
  });
}

}  // namespace
}  // namespace merino::test

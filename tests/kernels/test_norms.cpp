#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/norms.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

constexpr int N = 4, C = 7;
constexpr double kEps = 1e-5;

TEST(LayerNorm, ForwardMatchesFormula) {
  std::mt19937 rng(10);
  Vec x = uniform(N * C, rng);
  for (auto& v : x) v += 3.0;  // a row mean far from zero
  const Vec w = uniform(C, rng), b = uniform(C, rng);
  for (const bool with_bias : {true, false}) {
    Vec out(N * C), mean(N), rstd(N);
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                           with_bias ? b.data() : nullptr, N, C, kEps);
    for (int i = 0; i < N; ++i) {
      double m = 0, var = 0;
      for (int c = 0; c < C; ++c) m += x[i * C + c] / C;
      for (int c = 0; c < C; ++c) var += (x[i * C + c] - m) * (x[i * C + c] - m) / C;
      EXPECT_NEAR(mean[i], m, 1e-13);
      EXPECT_NEAR(rstd[i], 1 / std::sqrt(var + kEps), 1e-11);
      for (int c = 0; c < C; ++c) {
        const double ref =
            (x[i * C + c] - m) / std::sqrt(var + kEps) * w[c] + (with_bias ? b[c] : 0);
        EXPECT_NEAR(out[i * C + c], ref, 1e-12);
      }
    }
  }
}

TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(11);
  Vec x = uniform(N * C, rng), w = uniform(C, rng, 0.5, 1.5), b = uniform(C, rng);
  const Vec R = uniform(N * C, rng);
  Vec out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C,
                           kEps);
    return dot(out, R);
  };
  loss();
  Vec dx(N * C, 0.0), dw(C, 0.0), db(C, 0.0);
  cpu::layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(),
                          mean.data(), rstd.data(), N, C);
  expect_grad("dinp", x, dx, loss);
  expect_grad("dweight", w, dw, loss);
  expect_grad("dbias", b, db, loss);
}

TEST(LayerNorm, BackwardAccumulates) {
  std::mt19937 rng(12);
  const Vec x = uniform(N * C, rng), w = uniform(C, rng), dout = uniform(N * C, rng);
  Vec out(N * C), mean(N), rstd(N);
  cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                         (const double*)nullptr, N, C, kEps);
  Vec dx1(N * C, 0.0), dw1(C, 0.0), db1(C, 0.0), dx2(N * C, 0.0), dw2(C, 0.0), db2(C, 0.0);
  cpu::layernorm_backward(dx1.data(), dw1.data(), db1.data(), dout.data(), x.data(), w.data(),
                          mean.data(), rstd.data(), N, C);
  for (int rep = 0; rep < 2; ++rep)
    cpu::layernorm_backward(dx2.data(), dw2.data(), db2.data(), dout.data(), x.data(), w.data(),
                            mean.data(), rstd.data(), N, C);
  for (auto* v : {&dx1, &dw1, &db1})
    for (auto& e : *v) e *= 2;
  expect_near("dinp", dx2, dx1, 1e-13);
  expect_near("dweight", dw2, dw1, 1e-13);
  expect_near("dbias", db2, db1, 1e-13);
  // a null dbias skips only the bias gradient
  Vec dx3(N * C, 0.0), dw3(C, 0.0);
  cpu::layernorm_backward(dx3.data(), dw3.data(), (double*)nullptr, dout.data(), x.data(), w.data(),
                          mean.data(), rstd.data(), N, C);
  for (auto* v : {&dx3, &dw3})
    for (auto& e : *v) e *= 2;
  expect_near("dinp (no dbias)", dx3, dx1, 1e-13);
  expect_near("dweight (no dbias)", dw3, dw1, 1e-13);
}

TEST(RMSNorm, ForwardMatchesFormula) {
  std::mt19937 rng(13);
  const Vec x = uniform(N * C, rng, -2, 3), w = uniform(C, rng);
  Vec out(N * C), rstd(N);
  cpu::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, kEps);
  for (int i = 0; i < N; ++i) {
    double ms = 0;
    for (int c = 0; c < C; ++c) ms += x[i * C + c] * x[i * C + c] / C;
    EXPECT_NEAR(rstd[i], 1 / std::sqrt(ms + kEps), 1e-12);
    for (int c = 0; c < C; ++c)
      EXPECT_NEAR(out[i * C + c], x[i * C + c] / std::sqrt(ms + kEps) * w[c], 1e-12);
  }
}

TEST(RMSNorm, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(14);
  Vec x = uniform(N * C, rng), w = uniform(C, rng, 0.5, 1.5);
  const Vec R = uniform(N * C, rng);
  Vec out(N * C), rstd(N);
  auto loss = [&] {
    cpu::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, kEps);
    return dot(out, R);
  };
  loss();
  Vec dx(N * C, 0.0), dw(C, 0.0);
  cpu::rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  expect_grad("dinp", x, dx, loss);
  expect_grad("dweight", w, dw, loss);
}

TEST(RMSNorm, BackwardAccumulates) {
  std::mt19937 rng(15);
  const Vec x = uniform(N * C, rng), w = uniform(C, rng), dout = uniform(N * C, rng);
  Vec out(N * C), rstd(N);
  cpu::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, kEps);
  Vec dx1(N * C, 0.0), dw1(C, 0.0), dx2(N * C, 0.0), dw2(C, 0.0);
  cpu::rmsnorm_backward(dx1.data(), dw1.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C);
  for (int rep = 0; rep < 2; ++rep)
    cpu::rmsnorm_backward(dx2.data(), dw2.data(), dout.data(), x.data(), w.data(), rstd.data(), N,
                          C);
  for (auto* v : {&dx1, &dw1})
    for (auto& e : *v) e *= 2;
  expect_near("dinp", dx2, dx1, 1e-13);
  expect_near("dweight", dw2, dw1, 1e-13);
}

}  // namespace
}  // namespace merino::test

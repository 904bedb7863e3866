#include <gtest/gtest.h>

#include <limits>

#include "kernels/cpu/matmul.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

Vec naive_linear(const Vec& x, const Vec& w, const Vec* b, int N, int IC, int OC) {
  Vec y(size_t(N) * OC);
  for (int i = 0; i < N; ++i)
    for (int o = 0; o < OC; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int k = 0; k < IC; ++k) s += x[i * IC + k] * w[o * IC + k];
      y[i * OC + o] = s;
    }
  return y;
}

TEST(Matmul, ForwardMatchesTripleLoop) {
  std::mt19937 rng(20);
  // a tiny odd shape and one big enough for gemm's blocked paths
  for (const auto& [N, IC, OC] : {std::tuple{7, 5, 3}, std::tuple{33, 65, 47}}) {
    const Vec x = uniform(N * IC, rng), w = uniform(OC * IC, rng), b = uniform(OC, rng);
    Vec y(N * OC, std::numeric_limits<double>::quiet_NaN());  // forward must overwrite
    cpu::matmul_forward(y.data(), x.data(), w.data(), b.data(), N, IC, OC);
    expect_near("with bias", y, naive_linear(x, w, &b, N, IC, OC), 1e-12);
    cpu::matmul_forward(y.data(), x.data(), w.data(), (const double*)nullptr, N, IC, OC);
    expect_near("no bias", y, naive_linear(x, w, nullptr, N, IC, OC), 1e-12);
  }
}

TEST(Matmul, BackwardMatchesFiniteDifferences) {
  constexpr int N = 5, IC = 4, OC = 3;
  std::mt19937 rng(21);
  Vec x = uniform(N * IC, rng), w = uniform(OC * IC, rng), b = uniform(OC, rng);
  const Vec R = uniform(N * OC, rng);
  auto loss = [&] {
    Vec y(N * OC);
    cpu::matmul_forward(y.data(), x.data(), w.data(), b.data(), N, IC, OC);
    return dot(y, R);
  };
  Vec dx(N * IC, std::numeric_limits<double>::quiet_NaN());  // dinp is written, not added to
  Vec dw(OC * IC, 0.0), db(OC, 0.0);
  cpu::matmul_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), N, IC, OC);
  expect_grad("dinp", x, dx, loss);
  expect_grad("dweight", w, dw, loss);
  expect_grad("dbias", b, db, loss);
}

TEST(Matmul, BackwardAccumulatesWeightGradsAndSkipsNulls) {
  constexpr int N = 6, IC = 5, OC = 4;
  std::mt19937 rng(22);
  const Vec x = uniform(N * IC, rng), w = uniform(OC * IC, rng), dout = uniform(N * OC, rng);
  Vec dx1(N * IC), dw1(OC * IC, 0.0), db1(OC, 0.0);
  cpu::matmul_backward(dx1.data(), dw1.data(), db1.data(), dout.data(), x.data(), w.data(), N, IC,
                       OC);
  Vec dx2(N * IC), dw2(OC * IC, 0.0), db2(OC, 0.0);
  for (int rep = 0; rep < 2; ++rep)
    cpu::matmul_backward(dx2.data(), dw2.data(), db2.data(), dout.data(), x.data(), w.data(), N, IC,
                         OC);
  expect_near("dinp is overwritten, not doubled", dx2, dx1, 1e-14);
  Vec dw1x2 = dw1, db1x2 = db1;
  for (auto& e : dw1x2) e *= 2;
  for (auto& e : db1x2) e *= 2;
  expect_near("dweight doubles", dw2, dw1x2, 1e-13);
  expect_near("dbias doubles", db2, db1x2, 1e-13);

  Vec dw3(OC * IC, 0.0);
  cpu::matmul_backward((double*)nullptr, dw3.data(), (double*)nullptr, dout.data(), x.data(),
                       w.data(), N, IC, OC);
  expect_near("dweight with null dinp, dbias", dw3, dw1, 1e-14);
}

}  // namespace
}  // namespace merino::test

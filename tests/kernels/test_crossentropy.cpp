#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/crossentropy.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

constexpr int N = 5, V = 11;
constexpr int32_t kIgnore = -100;
const std::vector<int32_t> kTargets = {3, kIgnore, 0, 10, 3};

TEST(CrossEntropy, ForwardIsMinusLogSoftmax) {
  std::mt19937 rng(70);
  const Vec logits = uniform(N * V, rng, -3, 3);
  Vec losses(N, std::numeric_limits<double>::quiet_NaN());
  cpu::crossentropy_forward(losses.data(), logits.data(), kTargets.data(), N, V, V, kIgnore);
  for (int i = 0; i < N; ++i) {
    if (kTargets[i] == kIgnore) {
      EXPECT_EQ(losses[i], 0.0);
      continue;
    }
    long double z = 0;
    for (int v = 0; v < V; ++v) z += std::exp((long double)logits[i * V + v]);
    const long double p = std::exp((long double)logits[i * V + kTargets[i]]) / z;
    EXPECT_NEAR(losses[i], double(-std::log(p)), 1e-13) << "row " << i;
  }
}

TEST(CrossEntropy, ForwardIsStable) {
  // huge logits (exp overflows) and a target whose probability underflows to 0
  const std::vector<int32_t> tg = {1, 1};
  const std::vector<float> logits = {1e4f, 1e4f + 1.0f, 0.0f, -1000.0f};
  std::vector<float> losses(2);
  cpu::crossentropy_forward(losses.data(), logits.data(), tg.data(), 2, 2, 2, kIgnore);
  EXPECT_NEAR(losses[0], std::log1p(std::exp(-1.0)), 1e-6);  // -log(e / (1 + e))
  EXPECT_NEAR(losses[1], 1000.0f, 1e-3);
  std::vector<float> g = logits, l2(2);
  cpu::crossentropy_forward_backward(g.data(), l2.data(), tg.data(), 2, 2, 2, kIgnore, 1.0f);
  for (float v : g) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(g[2], 1.0f, 1e-6);
  EXPECT_NEAR(g[3], -1.0f, 1e-6);
}

TEST(CrossEntropy, FusedBackwardMatchesFiniteDifferences) {
  std::mt19937 rng(71);
  Vec logits = uniform(N * V, rng, -3, 3);
  const double scale = 1.0 / 4;  // mean over the non-ignored rows
  auto loss = [&] {
    Vec l(N);
    cpu::crossentropy_forward(l.data(), logits.data(), kTargets.data(), N, V, V, kIgnore);
    double s = 0;
    for (double v : l) s += v;
    return scale * s;
  };
  Vec fwd_losses(N);
  cpu::crossentropy_forward(fwd_losses.data(), logits.data(), kTargets.data(), N, V, V, kIgnore);

  Vec grad = logits, losses(N, std::numeric_limits<double>::quiet_NaN());
  for (int v = 0; v < V; ++v) grad[1 * V + v] = 1e30;  // the ignored row must come back zero
  cpu::crossentropy_forward_backward(grad.data(), losses.data(), kTargets.data(), N, V, V, kIgnore,
                                     scale);
  for (int v = 0; v < V; ++v) EXPECT_EQ(grad[1 * V + v], 0.0);
  expect_near("fused losses", losses, fwd_losses, 1e-14);
  expect_grad("dlogits", logits, grad, loss);
}

// A padded vocabulary: rows ld apart, columns V..ld-1 hold large values that would dominate the
// softmax if they were read, and must come back with a zero gradient.
TEST(CrossEntropy, StridedRowsScoreOnlyTheFirstVColumns) {
  constexpr int ld = 16;
  std::mt19937 rng(72);
  Vec logits = uniform(N * ld, rng, -3, 3);
  for (int i = 0; i < N; ++i)
    for (int v = V; v < ld; ++v) logits[i * ld + v] = 40.0 + v;
  const double scale = 0.7;
  Vec losses(N), grad = logits, fb_losses(N);
  cpu::crossentropy_forward(losses.data(), logits.data(), kTargets.data(), N, V, ld, kIgnore);
  cpu::crossentropy_forward_backward(grad.data(), fb_losses.data(), kTargets.data(), N, V, ld,
                                     kIgnore, scale);
  for (int i = 0; i < N; ++i) {
    for (int v = V; v < ld; ++v) EXPECT_EQ(grad[i * ld + v], 0.0) << "row " << i << " col " << v;
    if (kTargets[i] == kIgnore) {
      EXPECT_EQ(losses[i], 0.0);
      for (int v = 0; v < V; ++v) EXPECT_EQ(grad[i * ld + v], 0.0);
      continue;
    }
    long double z = 0;  // naive softmax over the scored columns
    for (int v = 0; v < V; ++v) z += std::exp((long double)logits[i * ld + v]);
    EXPECT_NEAR(losses[i], double(std::log(z) - logits[i * ld + kTargets[i]]), 1e-13);
    EXPECT_NEAR(fb_losses[i], losses[i], 1e-13);
    for (int v = 0; v < V; ++v) {
      const long double p = std::exp((long double)logits[i * ld + v]) / z;
      EXPECT_NEAR(grad[i * ld + v], double(scale * (p - (v == kTargets[i] ? 1 : 0))), 1e-14)
          << "row " << i << " col " << v;
    }
  }
}

}  // namespace
}  // namespace merino::test

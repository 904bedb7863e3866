// AdamW against values worked out by hand (the update rule of torch.optim.AdamW written out
// step by step for two scalars), and the clipping norm against a plain sum.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/adamw.h"

namespace {

merino::AdamWStep step_at(int64_t t) {
  merino::AdamWStep s;
  s.lr = 0.1;
  s.beta1 = 0.9;
  s.beta2 = 0.999;
  s.eps = 1e-8;
  s.weight_decay = 0.01;
  s.step = t;
  return s;
}

}  // namespace

TEST(adamw, MatchesHandComputedSteps) {
  // Step 1, p=1, g=0.5: m=0.05, v=0.00025, m_hat=0.5, v_hat=0.25,
  //   p = 1 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1) = 0.899000002
  // Step 1, p=-2, g=0: only decay, p = -2 - 0.1 * 0.01 * -2 = -1.998
  // Steps 2 and 3 continue the same recurrences with g = (-0.25, 3) and (1, -1).
  const double expected[3][2] = {{0.899000002, -1.998},
                                 {0.8714672987058464, -2.0704156820059962},
                                 {0.8047846723763841, -2.1027025319502974}};
  const double grads[3][2] = {{0.5, 0.0}, {-0.25, 3.0}, {1.0, -1.0}};
  std::vector<double> p = {1.0, -2.0}, m(2, 0.0), v(2, 0.0);
  for (int t = 0; t < 3; ++t) {
    merino::cpu::adamw_update(p.data(), grads[t], m.data(), v.data(), 2, step_at(t + 1));
    EXPECT_NEAR(p[0], expected[t][0], 1e-12) << "step " << t + 1;
    EXPECT_NEAR(p[1], expected[t][1], 1e-12) << "step " << t + 1;
  }
}

TEST(adamw, GradScaleMultipliesGradients) {
  std::vector<float> p1 = {0.3f, -0.7f, 1.5f}, p2 = p1, m1(3), v1(3), m2(3), v2(3);
  const float g[3] = {0.2f, -1.0f, 4.0f};
  const float g_half[3] = {0.1f, -0.5f, 2.0f};
  merino::AdamWStep s = step_at(1);
  merino::cpu::adamw_update(p1.data(), g, m1.data(), v1.data(), 3, s);
  s.grad_scale = 2.0;
  merino::cpu::adamw_update(p2.data(), g_half, m2.data(), v2.data(), 3, s);
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(p1[i], p2[i]);
}

TEST(adamw, SumSquaresIsExactAndThreadIndependent) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d;
  std::vector<float> x(100003);
  for (auto& e : x) e = d(rng);
  double naive = 0;
  for (float e : x) naive += double(e) * double(e);
  omp_set_num_threads(1);
  const double one = merino::cpu::sum_squares(x.data(), x.size());
  omp_set_num_threads(3);
  const double three = merino::cpu::sum_squares(x.data(), x.size());
  EXPECT_NEAR(one, naive, 1e-9 * naive);
  EXPECT_EQ(one, three);
}

// kernels/cpu/exp_nonpositive.h against std::exp over the whole range each form covers: a few
// ulp (relative to the exact value in long double), 1 at 0, and the documented behaviour below
// the range (a tiny normal double; 0 in float where std::exp would give a denormal).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu/exp_nonpositive.h"

namespace merino {
namespace {

TEST(ExpNonpositive, DoubleIsWithinAFewUlpOfStdExp) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> wide(-708.0, 0.0), near(-1.0, 0.0);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 2 ? wide(rng) : near(rng);
    const long double want = std::exp((long double)x);
    worst = std::max(worst, double(std::fabs(exp_nonpositive(x) - want) / want));
  }
  for (double x : {0.0, -0.0, -1e-300, -0.34657359027997264, -0.6931471805599453, -700.0}) {
    const long double want = std::exp((long double)x);
    worst = std::max(worst, double(std::fabs(exp_nonpositive(x) - want) / want));
  }
  EXPECT_LT(worst, 4 * std::numeric_limits<double>::epsilon());
  EXPECT_EQ(exp_nonpositive(0.0), 1.0);
  // far below: a tiny normal number, never more than e^-708
  EXPECT_GT(exp_nonpositive(-1e4), 0.0);
  EXPECT_LE(exp_nonpositive(-1e4), std::exp(-707.9));
}

TEST(ExpNonpositive, FloatIsWithinAFewUlpOfStdExp) {
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> wide(-87.3f, 0.0f), near(-1.0f, 0.0f);
  double worst = 0;
  auto check = [&](float x) {
    const double want = std::exp(double(x));
    worst = std::max(worst, std::fabs(double(exp_nonpositive(x)) - want) / want);
  };
  for (int i = 0; i < 200000; ++i) check(i % 2 ? wide(rng) : near(rng));
  for (float x : {0.0f, -0.0f, -1e-30f, -0.34657359f, -0.69314718f, -87.3f, -87.33654f})
    check(x);
  EXPECT_LT(worst, 3 * double(std::numeric_limits<float>::epsilon()));
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
  // below ln 2^-126 e^x is under the smallest normal float: 0, not a denormal
  EXPECT_EQ(exp_nonpositive(-87.34f), 0.0f);
  EXPECT_EQ(exp_nonpositive(-1e4f), 0.0f);
  EXPECT_GE(exp_nonpositive(-87.33f), std::numeric_limits<float>::min());
}

}  // namespace
}  // namespace merino

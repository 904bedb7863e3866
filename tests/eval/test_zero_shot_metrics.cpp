// The aggregations against Python: CPython's random module (values printed by Python 3.11) and
// lm-eval's bootstrap_stderr procedure run in Python on the same numbers.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/python_random.h"
#include "eval/zero_shot_metrics.h"

namespace merino::eval {
namespace {

TEST(zero_shot_metrics, python_random_stream) {
  PythonRandom a{0};
  EXPECT_EQ(a.genrand_uint32(), 3626764237u);  // random.Random(0).getrandbits(32)
  EXPECT_EQ(a.genrand_uint32(), 1654615998u);
  EXPECT_EQ(a.genrand_uint32(), 3255389356u);
  EXPECT_EQ(PythonRandom{0}.random(), 0.8444218515250481);
  EXPECT_EQ(PythonRandom{7}.random(), 0.32383276483316237);
  PythonRandom c{99};  // random.Random(99).choices(range(10), k=5)
  std::vector<int> picks;
  for (int i = 0; i < 5; ++i) picks.push_back(int(std::floor(c.random() * 10)));
  EXPECT_EQ(picks, (std::vector<int>{4, 2, 1, 2, 7}));
}

TEST(zero_shot_metrics, mean_stderr_is_bessel_corrected) {
  const Aggregate a = mean_and_stderr({1, 0, 1, 1, 0, 1, 1, 1});
  EXPECT_DOUBLE_EQ(a.value, 0.75);
  EXPECT_NEAR(*a.stderr_, std::sqrt(0.75 * 0.25 / 7), 1e-15);
  EXPECT_FALSE(mean_and_stderr({1}).stderr_.has_value());
}

TEST(zero_shot_metrics, macro_f1_and_argmax_ties) {
  // class 0: tp 1 fp 1 fn 1 -> 0.5; class 1: tp 1 fn 1 -> 2/3; class 2: never -> 0
  EXPECT_NEAR(macro_f1({{0, 0}, {0, 1}, {1, 1}, {1, 0}}, 3), (0.5 + 0.5 + 0) / 3, 1e-15);
  EXPECT_NEAR(macro_f1({{0, 0}, {1, 0}, {1, 1}}, 3), (2.0 / 3 + 2.0 / 3) / 3, 1e-15);
  EXPECT_EQ(first_argmax({-1, -0.5, -0.5}), 1u);
  EXPECT_EQ(first_argmax({-1, NAN, 3}), 1u);
}

// lm-eval: res = [perplexity(random.Random(i).choices(xs, k=5)) for i in 0, 1 x 1000];
// sample_stddev(res). Printed by Python 3.11: 7.38905609893065 5.543586400846539.
TEST(zero_shot_metrics, bootstrap_stderr_matches_python) {
  const Aggregate a = perplexity_with_bootstrap({-1.0, -2.5, -0.3, -4.0, -2.2}, 2000);
  EXPECT_DOUBLE_EQ(a.value, 7.38905609893065);
  EXPECT_NEAR(*a.stderr_, 5.543586400846539, 1e-12);
}

}  // namespace
}  // namespace merino::eval

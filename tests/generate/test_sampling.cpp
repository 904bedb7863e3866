// Sampling against hand-computed distributions: temperature, top-k, top-p (Hugging Face's
// rules: keep the shortest most-likely prefix reaching p, at least one token), greedy, the
// inverse-CDF draw, and the seeded sampler's frequencies and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "generate/sampling.h"

namespace merino::generate {
namespace {

// logits of the distribution (0.05, 0.5, 0.1, 0.2, 0.15): most likely token 1, then 3, 4, 2, 0
const std::vector<double> kProbs = {0.05, 0.5, 0.1, 0.2, 0.15};
std::vector<float> logits() {
  std::vector<float> l;
  for (double p : kProbs) l.push_back(float(std::log(p) + 3.0));  // any shift
  return l;
}

void expect_distribution(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "token " << i;
}

TEST(Sampling, TemperatureOneIsTheSoftmax) {
  const auto l = logits();
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 0, 1.0}), kProbs);
}

TEST(Sampling, TemperatureTwoTakesTheSquareRoot) {
  const auto l = logits();
  std::vector<double> want;
  double z = 0;
  for (double p : kProbs) z += std::sqrt(p);
  for (double p : kProbs) want.push_back(std::sqrt(p) / z);
  expect_distribution(sampling_distribution(l.data(), 5, {2.0, 0, 1.0}), want);
}

TEST(Sampling, TopKKeepsTheKMostLikely) {
  const auto l = logits();
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 2, 1.0}),
                      {0, 0.5 / 0.7, 0, 0.2 / 0.7, 0});
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 1, 1.0}), {0, 1, 0, 0, 0});
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 9, 1.0}), kProbs);  // k > V
}

TEST(Sampling, TopPKeepsTheShortestPrefixReachingP) {
  const auto l = logits();
  // 0.5 + 0.2 = 0.7 < 0.8, + 0.15 = 0.85 >= 0.8: tokens 1, 3, 4
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 0, 0.8}),
                      {0, 0.5 / 0.85, 0, 0.2 / 0.85, 0.15 / 0.85});
  // exactly reached by the first token: it alone
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 0, 0.5}), {0, 1, 0, 0, 0});
  // below the first token's share: still one token
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 0, 0.01}), {0, 1, 0, 0, 0});
}

TEST(Sampling, TopPAppliesToTheTopKRenormalised) {
  const auto l = logits();
  // top-3 leaves 0.5, 0.2, 0.15, shares 0.588, 0.235, 0.176 of their 0.85: p = 0.8 is reached
  // by two of them (0.824), where the whole distribution needs three (previous test)
  expect_distribution(sampling_distribution(l.data(), 5, {1.0, 3, 0.8}),
                      {0, 0.5 / 0.7, 0, 0.2 / 0.7, 0});
}

TEST(Sampling, TiesRankByIndex) {
  const std::vector<float> l = {1.f, 2.f, 2.f, 2.f};
  EXPECT_EQ(argmax(l.data(), 4), 1);
  expect_distribution(sampling_distribution(l.data(), 4, {1.0, 2, 1.0}), {0, 0.5, 0.5, 0});
}

TEST(Sampling, DrawInvertsTheCumulativeDistribution) {
  const std::vector<double> p = {0.0, 0.25, 0.0, 0.75};
  EXPECT_EQ(draw(p, 0.0), 1);
  EXPECT_EQ(draw(p, 0.2499), 1);
  EXPECT_EQ(draw(p, 0.25), 3);
  EXPECT_EQ(draw(p, 0.9999999), 3);
}

TEST(Sampler, GreedyAtTemperatureZero) {
  const auto l = logits();
  Sampler s(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.next(l.data(), 5, {0.0, 0, 1.0}), 1);
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  const auto l = logits();
  Sampler s(123);
  const int n = 200000;
  std::vector<int> count(5, 0);
  for (int i = 0; i < n; ++i) ++count[size_t(s.next(l.data(), 5, {1.0, 0, 1.0}))];
  // binomial standard deviation sqrt(n p (1 - p)) <= 224; 5 sigma
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(count[i], n * kProbs[i], 1200) << "token " << i;
  // top-k 2: token 3 about 2/7 of the time, tokens 0, 2, 4 never
  std::vector<int> top(5, 0);
  for (int i = 0; i < 70000; ++i) ++top[size_t(s.next(l.data(), 5, {1.0, 2, 1.0}))];
  EXPECT_EQ(top[0] + top[2] + top[4], 0);
  EXPECT_NEAR(top[3], 20000, 600);
}

TEST(Sampler, TheSeedFixesTheSequence) {
  const auto l = logits();
  auto run = [&](uint64_t seed) {
    Sampler s(seed);
    std::vector<int32_t> t;
    for (int i = 0; i < 50; ++i) t.push_back(s.next(l.data(), 5, {1.0, 0, 1.0}));
    return t;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, UniformIsInTheUnitInterval) {
  Sampler s(0);
  for (int i = 0; i < 10000; ++i) {
    const double u = s.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace merino::generate

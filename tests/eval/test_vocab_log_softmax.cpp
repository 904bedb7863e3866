// The scorer's log-softmax statistics against std::exp summed in long double: a GPT-2-wide row's
// log-sum-exp within 4e-15, the argmax the first of tied maxima, at every length modulo the
// lanes (its exp: tests/kernels/test_exp_nonpositive.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "eval/vocab_log_softmax.h"

namespace merino::eval {
namespace {

TEST(vocab_log_softmax, log_sum_exp_and_max_match_a_long_double_reference) {
  std::mt19937 rng(9);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  for (int V : {1, 2, 7, 8, 9, 23, 50257}) {
    std::vector<float> row(static_cast<size_t>(V));
    for (float& x : row) x = logit(rng);
    float max = row[0];
    int argmax = 0;
    for (int v = 1; v < V; ++v)
      if (row[size_t(v)] > max) max = row[size_t(v)], argmax = v;
    long double sum = 0;
    for (float x : row) sum += std::exp((long double)x - (long double)max);
    const RowLogSoftmax got = row_log_softmax(row.data(), V);
    EXPECT_EQ(got.argmax, argmax) << "V " << V;
    EXPECT_EQ(got.max, double(max)) << "V " << V;
    // a double sum of 50k terms is itself a few ulp off
    EXPECT_NEAR(got.log_sum_exp, double(std::log(sum)), 4e-15) << "V " << V;
  }
}

TEST(vocab_log_softmax, argmax_is_the_first_of_tied_maxima) {
  for (int V : {5, 8, 17, 40}) {
    std::vector<float> row(static_cast<size_t>(V), -1.0f);
    row[size_t(V) - 1] = 2.0f;
    row[size_t(V) / 2] = 2.0f;
    row[1] = 2.0f;
    EXPECT_EQ(row_log_softmax(row.data(), V).argmax, 1) << "V " << V;
    row[1] = -3.0f;
    EXPECT_EQ(row_log_softmax(row.data(), V).argmax, V / 2) << "V " << V;
  }
}

}  // namespace
}  // namespace merino::eval

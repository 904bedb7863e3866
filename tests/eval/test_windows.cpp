// The window planner: every token scored exactly once, enough context for each, and with
// stride == context exactly lm-evaluation-harness's rolling windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "eval/windows.h"

namespace merino::eval {
namespace {

// lm_eval/utils.py get_rolling_token_windows + make_disjoint_window, then the HF model's input
// (context + continuation)[-(L + 1):][:-1], written over X = [prefix] + tokens: the X index of
// the first input and how many trailing targets are scored, per window.
std::vector<Window> lm_eval_reference(size_t n, int max_seq_len, int context_len) {
  std::vector<Window> out;
  if (n == 0) return out;
  const size_t L = size_t(max_seq_len), pred_len = L - size_t(context_len) + 1;
  const size_t first = std::min(L, n);
  out.push_back({0, int(first), int(first)});  // [prefix] + toks[:first - 1]
  size_t predicted = first;
  while (predicted < n) {
    const size_t window_pred_len = std::min(n - predicted, pred_len);
    const size_t window_end = predicted + window_pred_len;
    // input toks[window_end - L - 1 : window_end - 1]; toks[i] is X[i + 1]
    out.push_back({window_end - L, int(L), int(window_pred_len)});
    predicted += window_pred_len;
  }
  return out;
}

TEST(eval_windows, protocol_example) {
  // tokens 0..9, L = 4: "P 0 1 2" scores 0-3, "3 4 5 6" scores 4-7, "5 6 7 8" scores 8 9
  const std::vector<Window> w = plan_windows(10, 4, 4);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].start, 0u);  // X[0] is the prefix
  EXPECT_EQ(w[0].length, 4);
  EXPECT_EQ(w[0].scored, 4);
  EXPECT_EQ(w[1].start, 4u);  // X[4] = token 3
  EXPECT_EQ(w[1].scored, 4);
  EXPECT_EQ(w[2].start, 6u);  // X[6] = token 5
  EXPECT_EQ(w[2].length, 4);
  EXPECT_EQ(w[2].scored, 2);
}

TEST(eval_windows, every_token_scored_exactly_once_with_enough_context) {
  for (size_t n = 0; n <= 40; ++n)
    for (int L = 1; L <= 9; ++L)
      for (int S = 1; S <= L; ++S) {
        SCOPED_TRACE("n=" + std::to_string(n) + " L=" + std::to_string(L) + " stride=" + std::to_string(S));
        std::vector<int> times_scored(n + 1, 0);  // by X index of the target
        for (const Window& w : plan_windows(n, L, S)) {
          ASSERT_GE(w.length, 1);
          ASSERT_LE(w.length, L);
          ASSERT_GE(w.scored, 1);
          ASSERT_LE(w.scored, w.length);
          ASSERT_LE(w.start + size_t(w.length), n);  // the last target X[start + length] exists
          for (int t = w.length - w.scored; t < w.length; ++t) {
            const size_t target = w.start + size_t(t) + 1;
            ++times_scored[target];
            // it sees every earlier token, or at least L - S + 1 of them
            EXPECT_GE(target - w.start, std::min(target, size_t(L - S + 1)));
          }
        }
        EXPECT_EQ(times_scored[0], 0);  // the prefix is never a target
        for (size_t i = 1; i <= n; ++i) EXPECT_EQ(times_scored[i], 1) << "token " << i - 1;
      }
}

TEST(eval_windows, equals_lm_eval_rolling_windows) {
  // our stride S is lm-eval's context_len L - S + 1; lm-eval's wikitext uses context_len 1
  for (size_t n = 0; n <= 40; ++n)
    for (int L = 1; L <= 9; ++L)
      for (int S = 1; S <= L; ++S) {
        const std::vector<Window> ours = plan_windows(n, L, S), ref = lm_eval_reference(n, L, L - S + 1);
        ASSERT_EQ(ours.size(), ref.size()) << n << " " << L << " " << S;
        for (size_t i = 0; i < ours.size(); ++i) {
          EXPECT_EQ(ours[i].start, ref[i].start);
          EXPECT_EQ(ours[i].length, ref[i].length);
          EXPECT_EQ(ours[i].scored, ref[i].scored);
        }
      }
}

TEST(eval_windows, rejects_bad_arguments) {
  EXPECT_THROW(plan_windows(5, 0, 1), std::invalid_argument);
  EXPECT_THROW(plan_windows(5, 4, 0), std::invalid_argument);
  EXPECT_THROW(plan_windows(5, 4, 5), std::invalid_argument);
}

}  // namespace
}  // namespace merino::eval

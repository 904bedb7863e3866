// The aggregations and standard errors lm-evaluation-harness reports for the zero-shot tasks
// (lm_eval/api/metrics.py; LM_EVAL_ZERO_SHOT.md sections 6 and 7).
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace merino::eval {

struct Aggregate {
  double value = 0;
  std::optional<double> stderr_;  // empty: lm-eval's "N/A"
};

// numpy argmax: the first index of the largest value (a NaN counts as the largest).
size_t first_argmax(const std::vector<double>& x);

// mean(x) and sample_stddev(x) / sqrt(n), summed in order in double; stderr N/A for n < 2.
Aggregate mean_and_stderr(const std::vector<double>& x);

// Macro-F1 over `classes` classes of (gold, pred) pairs; a class with no gold, no prediction
// scores 0. No stderr (CB's custom aggregation has none).
double macro_f1(const std::vector<std::pair<int, int>>& gold_pred, int classes);

// exp(-mean(ll)), with the bootstrap stderr: `iters` resamples in chunks of 1000, chunk s drawn
// from Python's random.Random(s) as random.choices, then the sample stddev of the resamples.
Aggregate perplexity_with_bootstrap(const std::vector<double>& ll, int iters = 100000);

}  // namespace merino::eval

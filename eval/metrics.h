// The reported metrics from the summed log-likelihood, as lm-evaluation-harness defines them
// (lm_eval/api/metrics.py): each is a ratio of sums over all documents, not a mean of
// per-document values.
#pragma once
#include <cstdint>

namespace merino::eval {

struct EvalTotals {
  double loglikelihood = 0;  // natural log, summed over every scored token
  uint64_t tokens = 0, words = 0, bytes = 0;
};

struct EvalMetrics {
  double token_perplexity = 0;  // exp(-ll / tokens)
  double word_perplexity = 0;   // exp(-ll / words)
  double byte_perplexity = 0;   // exp(-ll / bytes)
  double bits_per_byte = 0;     // -ll / (bytes ln 2)
};

EvalMetrics compute_metrics(const EvalTotals& totals);

}  // namespace merino::eval

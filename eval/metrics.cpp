#include "eval/metrics.h"

#include <cmath>

namespace merino::eval {

EvalMetrics compute_metrics(const EvalTotals& t) {
  const double nll = -t.loglikelihood;
  EvalMetrics m;
  m.token_perplexity = std::exp(nll / double(t.tokens));
  m.word_perplexity = std::exp(nll / double(t.words));
  m.byte_perplexity = std::exp(nll / double(t.bytes));
  m.bits_per_byte = nll / (double(t.bytes) * std::log(2.0));
  return m;
}

}  // namespace merino::eval

#include "eval/zero_shot_metrics.h"

#include <algorithm>
#include <cmath>

#include "eval/python_random.h"

namespace merino::eval {
namespace {

double mean(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  return sum / double(x.size());
}

double sample_stddev(const std::vector<double>& x) {
  const double mu = mean(x);
  double ss = 0;
  for (double v : x) ss += (v - mu) * (v - mu);
  return std::sqrt(ss / double(x.size() - 1));
}

}  // namespace

size_t first_argmax(const std::vector<double>& x) {
  size_t best = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) return i;
    if (x[i] > x[best]) best = i;
  }
  return best;
}

Aggregate mean_and_stderr(const std::vector<double>& x) {
  Aggregate a;
  if (x.empty()) return a;
  a.value = mean(x);
  if (x.size() > 1) a.stderr_ = sample_stddev(x) / std::sqrt(double(x.size()));
  return a;
}

double macro_f1(const std::vector<std::pair<int, int>>& gold_pred, int classes) {
  double sum = 0;
  for (int c = 0; c < classes; ++c) {
    uint64_t tp = 0, fp = 0, fn = 0;
    for (const auto& [gold, pred] : gold_pred) {
      tp += gold == c && pred == c;
      fp += gold != c && pred == c;
      fn += gold == c && pred != c;
    }
    const uint64_t denom = 2 * tp + fp + fn;
    sum += denom ? 2.0 * double(tp) / double(denom) : 0.0;
  }
  return sum / double(classes);
}

Aggregate perplexity_with_bootstrap(const std::vector<double>& ll, int iters) {
  Aggregate a;
  if (ll.empty()) return a;
  a.value = std::exp(-mean(ll));
  const int chunk = std::min(1000, iters);
  const size_t n = ll.size();
  std::vector<double> reps;
  reps.reserve(size_t(iters));
  for (int s = 0; s < iters / chunk; ++s) {
    PythonRandom rng{uint32_t(s)};
    for (int c = 0; c < chunk; ++c) {
      double sum = 0;
      for (size_t k = 0; k < n; ++k) sum += ll[size_t(std::floor(rng.random() * double(n)))];
      reps.push_back(std::exp(-sum / double(n)));
    }
  }
  if (reps.size() > 1) a.stderr_ = sample_stddev(reps);
  return a;
}

}  // namespace merino::eval

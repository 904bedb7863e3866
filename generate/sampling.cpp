#include "generate/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace merino::generate {

namespace {

// zeroes every token outside the top-k set, then outside the top-p share of what is left
void keep_top(std::vector<double>& p, const SamplingOptions& o) {
  // tokens by probability, most likely first, ties by index (a stable sort keeps index order)
  std::vector<int32_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return p[size_t(a)] > p[size_t(b)]; });
  size_t keep = p.size();
  if (o.top_k > 0) keep = std::min(keep, size_t(o.top_k));
  if (o.top_p < 1.0) {
    double total = 0;
    for (size_t r = 0; r < keep; ++r) total += p[size_t(order[r])];
    // the shortest prefix whose share of the (top-k) mass reaches top_p; at least one token
    double cum = 0;
    size_t n = 0;
    while (n < keep) {
      cum += p[size_t(order[n++])] / total;
      if (cum >= o.top_p) break;
    }
    keep = n;
  }
  for (size_t r = keep; r < p.size(); ++r) p[size_t(order[r])] = 0.0;
}

}  // namespace

int32_t argmax(const float* logits, int V) {
  return int32_t(std::max_element(logits, logits + V) - logits);  // the first of equals
}

std::vector<double> sampling_distribution(const float* logits, int V, const SamplingOptions& o) {
  const double mx = double(logits[argmax(logits, V)]);
  std::vector<double> p(static_cast<size_t>(V));
  for (int i = 0; i < V; ++i) p[size_t(i)] = std::exp((double(logits[i]) - mx) / o.temperature);
  if (o.top_k > 0 || o.top_p < 1.0) keep_top(p, o);
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= sum;
  return p;
}

int32_t draw(const std::vector<double>& p, double u) {
  const double target = u * std::accumulate(p.begin(), p.end(), 0.0);
  double cum = 0;
  int32_t last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    cum += p[i];
    last = int32_t(i);
    if (cum > target) return last;
  }
  return last;  // u * sum rounded up to the total: the last possible token
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1p-53; }

int32_t Sampler::next(const float* logits, int V, const SamplingOptions& o) {
  if (o.temperature == 0) return argmax(logits, V);
  return draw(sampling_distribution(logits, V, o), uniform());
}

}  // namespace merino::generate

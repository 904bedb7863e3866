#include "eval/scorer.h"

#include <algorithm>
#include <stdexcept>

#include "eval/windows.h"

namespace merino::eval {
namespace {

struct Job {
  size_t doc;
  Window window;
};

}  // namespace

ScoreResult score_documents(Model<float>& model, const std::vector<std::vector<int32_t>>& docs,
                            int32_t prefix, const ScoreOptions& options) {
  const int L = model.config().context_length;
  const int stride = options.stride ? options.stride : L;
  if (options.batch < 1) throw std::invalid_argument("score_documents: batch must be >= 1");
  std::vector<Job> jobs;
  for (size_t d = 0; d < docs.size(); ++d)
    for (const Window& w : plan_windows(docs[d].size(), L, stride)) jobs.push_back({d, w});

  ScoreResult result;
  result.loglikelihood.assign(docs.size(), 0.0);
  result.windows = jobs.size();
  std::vector<int32_t> tokens, targets;
  std::vector<float> losses;
  for (size_t first = 0; first < jobs.size(); first += size_t(options.batch)) {
    const size_t last = std::min(jobs.size(), first + size_t(options.batch));
    const int B = int(last - first);
    int Tn = 0;
    for (size_t j = first; j < last; ++j) Tn = std::max(Tn, jobs[j].window.length);
    tokens.assign(size_t(B) * Tn, prefix);
    targets.assign(tokens.size(), Model<float>::kIgnoreIndex);
    for (size_t j = first; j < last; ++j) {
      const std::vector<int32_t>& doc = docs[jobs[j].doc];
      const Window& w = jobs[j].window;
      auto x = [&](size_t i) { return i == 0 ? prefix : doc[i - 1]; };  // [prefix] + doc
      const size_t row = (j - first) * size_t(Tn);
      for (int t = 0; t < w.length; ++t) tokens[row + t] = x(w.start + t);
      for (int t = w.length - w.scored; t < w.length; ++t) targets[row + t] = x(w.start + t + 1);
    }
    model.forward(tokens.data(), targets.data(), B, Tn, losses);
    for (size_t j = first; j < last; ++j) {
      const Window& w = jobs[j].window;
      const size_t row = (j - first) * size_t(Tn);
      double ll = 0;
      for (int t = w.length - w.scored; t < w.length; ++t) ll -= double(losses[row + t]);
      result.loglikelihood[jobs[j].doc] += ll;
      result.tokens += uint64_t(w.scored);
    }
    result.positions += tokens.size();
    if (options.progress) options.progress(last, jobs.size(), result.tokens);
  }
  return result;
}

}  // namespace merino::eval

#include "eval/zero_shot_evaluate.h"

#include <chrono>
#include <cmath>

#include "base/errors.h"
#include "eval/python_text.h"
#include "eval/request_tokens.h"

namespace merino::eval {

size_t limited_count(size_t n, double limit) {
  if (limit <= 0) return n;
  if (limit < 1) return std::min(n, size_t(std::ceil(double(n) * limit)));
  return std::min(n, size_t(limit));
}

ZeroShotResult evaluate_zero_shot(Model<float>& model, const Tokenizer& tokenizer, const ZeroShotTask& task,
                                  const ZeroShotOptions& options) {
  if (tokenizer.vocab_size() > model.config().vocab_size)
    throw DataError("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " tokens, more than the model's " +
                    std::to_string(model.config().vocab_size));
  const size_t n = limited_count(task.docs.size(), options.limit);
  const int32_t prefix = tokenizer.eot_token();

  std::vector<TokenRequest> requests;
  std::vector<size_t> group;  // a document's choices may share a row
  for (size_t d = 0; d < n; ++d) {
    const ZeroShotDoc& doc = task.docs[d];
    for (size_t i = 0; i < doc.num_requests(); ++i) {
      if (doc.context(i).empty() && prefix < 0)
        throw DataError(task.info.name + ": document " + std::to_string(d) +
                        " has an empty context and the tokenizer no <|endoftext|> to stand for it");
      requests.push_back(tokenize_request(tokenizer, doc.context(i), doc.continuation(i), prefix));
      group.push_back(d);
    }
  }

  ZeroShotResult result;
  result.task = task.info.name;
  result.n = n;
  result.requests = requests.size();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<ScoredRequest> scored =
      score_requests(model, requests, group, {options.batch, options.progress}, &result.stats);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const TokenRequest& r : requests) result.tokens += r.continuation.size();

  std::vector<double> acc, acc_norm, ll;
  std::vector<std::pair<int, int>> gold_pred;
  size_t next = 0;
  for (size_t d = 0; d < n; ++d) {
    const ZeroShotDoc& doc = task.docs[d];
    if (task.info.type == OutputType::Loglikelihood) {
      ll.push_back(scored[next].loglikelihood);
      acc.push_back(scored[next].greedy ? 1.0 : 0.0);
      ++next;
      continue;
    }
    std::vector<double> lls, normed;
    for (size_t i = 0; i < doc.num_requests(); ++i, ++next) {
      lls.push_back(scored[next].loglikelihood);
      // numpy float division: a zero length gives -inf (or NaN for ll = 0), as in lm-eval
      normed.push_back(scored[next].loglikelihood / double(code_point_count(doc.choices[i])));
    }
    const int pred = int(first_argmax(lls)), pred_norm = int(first_argmax(normed));
    acc.push_back(pred == doc.gold ? 1.0 : 0.0);
    acc_norm.push_back(pred_norm == doc.gold ? 1.0 : 0.0);
    gold_pred.emplace_back(doc.gold, pred);
  }
  if (task.info.type == OutputType::Loglikelihood) {
    result.metrics.emplace_back("perplexity", perplexity_with_bootstrap(ll));
    result.metrics.emplace_back("acc", mean_and_stderr(acc));
    return result;
  }
  result.metrics.emplace_back("acc", mean_and_stderr(acc));
  if (task.info.acc_norm) result.metrics.emplace_back("acc_norm", mean_and_stderr(acc_norm));
  if (task.info.f1) result.metrics.emplace_back("f1", Aggregate{macro_f1(gold_pred, 3), std::nullopt});
  return result;
}

}  // namespace merino::eval

// One zero-shot task on one model: the documents' requests tokenized (request_tokens.h),
// scored by the engine (loglikelihood.h), turned into per-document metrics and aggregated as
// lm-evaluation-harness does (LM_EVAL_ZERO_SHOT.md sections 6 and 7). No file is read here.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/tokenizer/tokenizer.h"
#include "eval/loglikelihood.h"
#include "eval/zero_shot_metrics.h"
#include "eval/zero_shot_tasks.h"
#include "model/model.h"

namespace merino::eval {

struct ZeroShotOptions {
  int batch = 1;      // rows per forward pass
  double limit = 0;   // 0: all documents; N >= 1: the first N; 0 < x < 1: the first ceil(n x)
  std::function<void(size_t done, size_t total, uint64_t tokens)> progress;  // as LoglikelihoodOptions'
};

struct ZeroShotResult {
  std::string task;
  size_t n = 0;  // documents scored
  // in lm-eval's order: acc, acc_norm, f1 / perplexity, acc (LAMBADA)
  std::vector<std::pair<std::string, Aggregate>> metrics;
  uint64_t requests = 0, tokens = 0;  // continuation tokens scored
  LoglikelihoodStats stats;
  double seconds = 0;
};

// Documents a limit keeps out of n (lm-eval's --limit).
size_t limited_count(size_t n, double limit);

// Throws DataError when the tokenizer does not fit the model or a request cannot be scored.
ZeroShotResult evaluate_zero_shot(Model<float>& model, const Tokenizer& tokenizer, const ZeroShotTask& task,
                                  const ZeroShotOptions& options);

}  // namespace merino::eval

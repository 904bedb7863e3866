// One task on one model: tokenize the task's documents, score them (scorer.h), and turn the
// sums into metrics. No file is read or written here (run_eval.h does that).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "data/tokenizer/tokenizer.h"
#include "eval/metrics.h"
#include "eval/tasks.h"
#include "model/model.h"

namespace merino::eval {

// After each batch: windows (or requests) scored, of all, and the tokens scored.
using ScoreProgress = std::function<void(size_t done, size_t total, uint64_t tokens)>;
// A task's ScoreProgress, asked for as its scoring begins (the name is the task's).
using ProgressFactory = std::function<ScoreProgress(const std::string& task)>;

struct EvalOptions {
  int stride = 0;  // 0: the context length (lm-eval's protocol)
  int batch = 0;   // windows per forward pass; 0: auto_batch(context length)
  ScoreProgress progress;  // may be empty
};

struct EvalResult {
  EvalTotals totals;
  EvalMetrics metrics;
  uint64_t documents = 0, windows = 0;
  uint64_t positions = 0;  // input positions run through the model
  int stride = 0, batch = 0;
  double seconds = 0;      // scoring only, tokenization excluded
};

// Enough windows per pass to keep the matrix products large, few enough that the activations
// (about one vocabulary row of logits plus the layers' per token) stay within a few GB.
int auto_batch(int context_length);

// Throws ConfigError for an out-of-range stride or batch and DataError when the tokenizer's
// vocabulary does not fit the model or it has no <|endoftext|> to prefix documents with.
EvalResult evaluate(Model<float>& model, const Tokenizer& tokenizer, const EvalTask& task,
                    const EvalOptions& options);

}  // namespace merino::eval

// Scores tokenized documents with a model: every document's windows (windows.h), run in
// batches of `batch` windows per forward pass. Windows shorter than the longest in their batch
// are padded on the right; with causal attention padding cannot change the positions before
// it, and padded targets are ignored. Log-likelihoods are summed in double, per document, in
// window order, so the result does not depend on how windows are grouped beyond the float
// rounding of the forward pass itself.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.h"

namespace merino::eval {

struct ScoreOptions {
  int stride = 0;  // tokens newly scored per window after the first; 0: the context length
  int batch = 1;   // windows per forward pass
  // after each forward pass: windows done, windows in all, tokens scored so far
  std::function<void(size_t done, size_t total, uint64_t tokens)> progress;
};

struct ScoreResult {
  std::vector<double> loglikelihood;  // per document, natural log
  uint64_t tokens = 0;                // tokens scored (= all documents' tokens)
  uint64_t windows = 0;
  uint64_t positions = 0;             // input positions run through the model, padding included
};

// prefix: the token every document is conditioned on first (lm-eval: BOS, else EOS).
ScoreResult score_documents(Model<float>& model, const std::vector<std::vector<int32_t>>& docs,
                            int32_t prefix, const ScoreOptions& options);

}  // namespace merino::eval

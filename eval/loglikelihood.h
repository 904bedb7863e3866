// The scoring engine of the zero-shot tasks: log P(continuation | context) and whether every
// continuation token is the model's top-1 prediction, for many requests, as lm-evaluation-
// harness's HF backend computes them (LM_EVAL_ZERO_SHOT.md sections 4.4 and 5).
//
// Each request is left-truncated to its last L+1 tokens, L the model's context length, and its
// model input is that window without its last token. A continuation longer than L (which
// lm-eval refuses; only short-context models meet one) is scored in pieces of at most L tokens,
// each after all that precedes it (loglikelihood.cpp). Requests of one group (a document's
// choices) whose input is a prefix of another's input are read from that one row, since under
// causal attention the row's first positions see exactly the shorter input: a document whose
// choices are single tokens (BoolQ's " no"/" yes", ...) costs one row, not one per choice
// (lm-eval shares logits the same way). Such one-row documents run longest first, `batch` rows
// per forward pass, shorter rows padded on the right, which cannot change earlier positions.
//
// A document left with several rows (HellaSwag's endings after one context) runs the tokens
// its rows share once, through a KV cache (model/kv_cache.h): the shared prefixes of several
// documents run as one batched pass, each is forked into one cache row per choice, and the
// choices' remaining tokens run batched across documents, at most `batch` rows per pass
// (padded at the end; a document of more choices than `batch` forks its prefix again for each
// pass of its choices). Positions of the shared prefix are scored from the prefix pass's logits
// (its last row predicts the first token after it), the rest from the continuation pass's.
// The cache holds at most `batch` rows of the longest input (<= L positions).
//
// The log-softmax is taken over the model's whole output width, in double from the fp32
// logits; argmax ties go to the lowest id. Both depend only on the logits of the scored
// position, so the result equals one forward pass per request (score_naive) whenever the
// forward pass's rounding does not depend on the batch or on the cache: on the CPU it does
// not (the cached attention adds the same products in the same order; tested bit for bit).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "eval/request_tokens.h"
#include "model/model.h"

namespace merino::eval {

struct ScoredRequest {
  double loglikelihood = 0;  // natural log, summed over the continuation's tokens
  bool greedy = false;       // every continuation token was the argmax
};

struct LoglikelihoodOptions {
  int batch = 1;  // rows per forward pass (prefix passes: documents per pass, at most this)
  // after each pass that finishes requests: requests (pieces) done, in all, continuation tokens
  // scored so far
  std::function<void(size_t done, size_t total, uint64_t tokens)> progress;
};

struct LoglikelihoodStats {
  uint64_t rows = 0;  // distinct model inputs scored (<= requests)
  uint64_t positions =
      0;                  // positions run through the model, padding included; a shared prefix once
  uint64_t forwards = 0;  // forward passes, prefix and continuation passes alike
};

// group[i]: requests with the same group may share a row (empty: no sharing). Throws
// DataError for a request whose continuation is empty.
std::vector<ScoredRequest> score_requests(Model<float>& model,
                                          const std::vector<TokenRequest>& requests,
                                          const std::vector<size_t>& group,
                                          const LoglikelihoodOptions& options,
                                          LoglikelihoodStats* stats = nullptr);

// One request (piece), one forward pass of exactly its input: the reference the batched engine is
// tested and benchmarked against.
std::vector<ScoredRequest> score_naive(Model<float>& model,
                                       const std::vector<TokenRequest>& requests);

}  // namespace merino::eval

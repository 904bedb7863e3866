// Autoregressive generation with a KV cache: the prompt runs through the model once (prefill),
// then each new token is one incremental forward over the cache (Model::forward_cached), its
// logits sampled by generate/sampling.h. Stops at the stop token, after max_new_tokens, or when
// the sequence fills the model's context.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "generate/sampling.h"
#include "model/model.h"

namespace merino::generate {

struct GenerateOptions {
  int max_new_tokens = 100;
  SamplingOptions sampling;
  uint64_t seed = 0;
  int32_t stop_token = -1;  // e.g. end-of-text; -1: none. Not handed to on_token.
};

enum class StopReason { StopToken, MaxTokens, ContextFull };

struct GenerateResult {
  std::vector<int32_t> tokens;  // the new tokens, the stop token excluded
  StopReason reason = StopReason::MaxTokens;
  double prefill_seconds = 0, decode_seconds = 0;  // decode: every step after the prefill
};

// prompt: 1 .. context_length - 1 tokens (std::invalid_argument otherwise). on_token, if set,
// is called with each new token as soon as it is chosen.
GenerateResult generate(Model<float>& model, const std::vector<int32_t>& prompt,
                        const GenerateOptions& o,
                        const std::function<void(int32_t)>& on_token = nullptr);

}  // namespace merino::generate

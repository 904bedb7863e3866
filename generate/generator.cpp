#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "model/kv_cache.h"

namespace merino::generate {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerateResult generate(Model<float>& model, const std::vector<int32_t>& prompt,
                        const GenerateOptions& o, const std::function<void(int32_t)>& on_token) {
  const ModelConfig& cfg = model.config();
  const int P = int(prompt.size()), L = cfg.context_length, V = cfg.vocab_size;
  if (P < 1 || P >= L)
    throw std::invalid_argument("generate: the prompt has " + std::to_string(P) +
                                " tokens; it needs 1 to " + std::to_string(L - 1) +
                                " (the context length is " + std::to_string(L) + ")");
  // the last sampled token is never fed back, so the cache holds at most P + max_new - 1
  const int capacity = std::min(L, P + std::max(o.max_new_tokens, 1));
  KVCache<float> cache(model.backend(), cfg, 1, capacity);
  Sampler sampler(o.seed);
  std::vector<float> row(static_cast<size_t>(V));
  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  // the prefill asks for the head on its last position only: one logit row, the next token's
  const float* logits = model.forward_cached(cache, prompt.data(), 1, P, P - 1);
  for (;;) {
    model.backend().download(row.data(), logits, size_t(V));
    if (r.tokens.empty()) {
      r.prefill_seconds = seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
    }
    const int32_t next = sampler.next(row.data(), V, o.sampling);
    if (next == o.stop_token) {
      r.reason = StopReason::StopToken;
      break;
    }
    r.tokens.push_back(next);
    if (on_token) on_token(next);
    if (int(r.tokens.size()) >= o.max_new_tokens) {
      r.reason = StopReason::MaxTokens;
      break;
    }
    if (cache.length >= L) {
      r.reason = StopReason::ContextFull;
      break;
    }
    logits = model.forward_cached(cache, &next, 1, 1);
  }
  r.decode_seconds = seconds_since(t0);
  return r;
}

}  // namespace merino::generate

#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "base/errors.h"
#include "eval/scorer.h"

namespace merino::eval {

int auto_batch(int context_length) { return std::max(1, 2048 / context_length); }

EvalResult evaluate(Model<float>& model, const Tokenizer& tokenizer, const EvalTask& task,
                    const EvalOptions& options) {
  const ModelConfig& cfg = model.config();
  const int L = cfg.context_length;
  if (options.stride < 0 || options.stride > L)
    throw ConfigError("--stride " + std::to_string(options.stride) + ": must be between 1 and the context length " +
                      std::to_string(L));
  if (options.batch < 0) throw ConfigError("--batch " + std::to_string(options.batch) + ": must be >= 1");
  if (tokenizer.vocab_size() > cfg.vocab_size)
    throw DataError("the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                    " tokens but the model's vocabulary is " + std::to_string(cfg.vocab_size) +
                    " (pass the --tokenizer the model was trained with)");
  // lm-eval prefixes with BOS, else EOS; GPT-2's and NeoX's BOS is <|endoftext|>
  const int32_t prefix = tokenizer.eot_token();
  if (prefix < 0) throw DataError("the tokenizer has no <|endoftext|> token to condition documents on");

  std::vector<std::string_view> texts;
  for (const TaskDocument& d : task.documents) texts.push_back(d.text);
  // special tokens written in the text are recognised, as HF tokenizers do by default
  const std::vector<std::vector<int32_t>> docs = tokenizer.encode_batch(texts, 0, true);

  EvalResult r;
  r.stride = options.stride ? options.stride : L;
  r.batch = options.batch ? options.batch : auto_batch(L);
  const auto t0 = std::chrono::steady_clock::now();
  const ScoreResult s = score_documents(model, docs, prefix, {r.stride, r.batch, options.progress});
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (const double ll : s.loglikelihood) r.totals.loglikelihood += ll;
  r.totals.tokens = s.tokens;
  for (const TaskDocument& d : task.documents) {
    r.totals.words += d.words;
    r.totals.bytes += d.bytes;
  }
  if (r.totals.tokens == 0) throw DataError(task.name + ": the text has no tokens to score");
  r.metrics = compute_metrics(r.totals);
  r.documents = task.documents.size();
  r.windows = s.windows;
  r.positions = s.positions;
  return r;
}

}  // namespace merino::eval

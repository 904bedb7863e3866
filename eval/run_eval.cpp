#include "eval/run_eval.h"

#include "base/errors.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/eval_model.h"

namespace merino::eval {
namespace {

nlohmann::json report(const RunEvalOptions& o, const EvalTask& task, const LoadedCheckpoint& ckpt,
                      const std::string& tokenizer, const EvalResult& r) {
  return {
      {"task", task.name},
      {"task_version", task.version},
      {"reference", task.reference},
      {"data_file", task.file},
      {"data_sha256", task.sha256},
      {"checkpoint", o.checkpoint},
      {"checkpoint_resolved", ckpt.resolved_dir},
      {"step", ckpt.step},
      {"model", ckpt.config.name},
      {"context_length", ckpt.config.context_length},
      {"tokenizer", tokenizer},
      {"stride", r.stride},
      {"batch", r.batch},
      {"documents", r.documents},
      {"windows", r.windows},
      {"tokens", r.totals.tokens},
      {"words", r.totals.words},
      {"word_count", task.word_count},
      {"bytes", r.totals.bytes},
      {"loglikelihood", r.totals.loglikelihood},
      {"metrics",
       {{"word_perplexity", r.metrics.word_perplexity},
        {"byte_perplexity", r.metrics.byte_perplexity},
        {"bits_per_byte", r.metrics.bits_per_byte},
        {"token_perplexity", r.metrics.token_perplexity}}},
  };
}

}  // namespace

EvalRun run_eval(const RunEvalOptions& o) {
  // cheap checks first, so a typo fails before a large checkpoint is read
  const EvalTask task = load_task(o.task, o.data_dir);
  const LoadedCheckpoint ckpt = load_for_eval(o.checkpoint);
  const NamedTokenizer tok = load_named_tokenizer(o.tokenizer, o.data_dir);
  const int batch = o.batch > 0 ? o.batch : auto_batch(ckpt.config.context_length);
  EvalModel m = load_eval_model(ckpt, o.device, batch, /*kv_cache=*/false);
  EvalRun run;
  run.result = evaluate(*m.model, tok.tokenizer, task,
                        {o.stride, o.batch, o.progress ? o.progress(task.name) : nullptr});
  run.report = report(o, task, ckpt, tok.name, run.result);
  return run;
}

}  // namespace merino::eval

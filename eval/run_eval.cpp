#include "eval/run_eval.h"

#include <cstdio>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/eval_checkpoint.h"
#include "eval/evaluate.h"
#include "eval/progress_line.h"
#include "kernels/device_backend.h"
#include "model/config.h"

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

void print_summary(const nlohmann::json& j, const EvalResult& r) {
  std::printf("%s v%d: %llu documents, %llu tokens, %llu words, %llu bytes (checkpoint %s, step %lld)\n",
              j["task"].get<std::string>().c_str(), j["task_version"].get<int>(),
              (unsigned long long)r.documents, (unsigned long long)r.totals.tokens,
              (unsigned long long)r.totals.words, (unsigned long long)r.totals.bytes,
              j["checkpoint"].get<std::string>().c_str(), j["step"].get<long long>());
  for (const char* name : {"word_perplexity", "byte_perplexity", "bits_per_byte", "token_perplexity"})
    std::printf("  %-17s %.4f\n", name, j["metrics"][name].get<double>());
  std::printf("scored in %.1f s: %.0f tokens/s (%llu windows, batch %d, stride %d)\n", r.seconds,
              double(r.totals.tokens) / r.seconds, (unsigned long long)r.windows, r.batch, r.stride);
}

}  // namespace

nlohmann::json run_eval(const RunEvalOptions& o) {
  // cheap checks first, so a typo fails before a large checkpoint is read
  check_output_directory(o.json_out);
  const EvalTask task = load_task(o.task, o.data_dir);
  const LoadedCheckpoint ckpt = load_for_eval(o.checkpoint);
  const NamedTokenizer tok = load_named_tokenizer(o.tokenizer, o.data_dir);

  const DeviceBackend<float> device = make_device_backend<float>(o.device, 0);
  // all the memory of the run at once (the model at its context length, the batch the scorer
  // uses), so that a batch too large for the device fails before scoring starts
  const int L = ckpt.config.context_length;
  device.backend->reserve(Model<float>::memory_plan(ckpt.config, o.batch > 0 ? o.batch : auto_batch(L), L));
  Model<float> model(ckpt.config, *device.backend);
  model.set_params(ckpt.params);
  EvalOptions options{o.stride, o.batch, o.progress ? make_progress_line(task.name) : nullptr};
  const EvalResult result = evaluate(model, tok.tokenizer, task, options);

  const nlohmann::json j = report(o, task, ckpt, tok.name, result);
  print_summary(j, result);
  if (!o.json_out.empty()) {
    write_file_atomically(o.json_out, j.dump(2) + "\n");
    std::printf("wrote %s\n", o.json_out.c_str());
  }
  return j;
}

}  // namespace merino::eval

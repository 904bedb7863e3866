// `merino eval --checkpoint DIR --task T [--json OUT]`: perplexity (wikitext2, wikitext2-valid,
// ptb, text:FILE) or zero-shot accuracy (a comma-separated list of lm-eval tasks, or merino).
#include <memory>
#include <string>

#include "base/errors.h"
#include "cli/commands.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/run_eval.h"
#include "eval/run_zero_shot.h"
#include "eval/tasks.h"

namespace merino::cli {

Action add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Perplexity on WikiText-2, PTB or a text file, or zero-shot accuracy on lm-eval's tasks (lm-eval protocol)");
  auto o = std::make_shared<eval::RunEvalOptions>();
  auto limit = std::make_shared<double>(0);
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint directory, e.g. runs/NAME/latest")->required();
  cmd->add_option("--task", o->task,
                  "wikitext2 (test), wikitext2-valid, ptb (test), text:FILE, or zero-shot tasks T[,T...]: merino, "
                  "hellaswag, winogrande, openbookqa, arc_easy, arc_challenge, pubmedqa, logiqa, boolq, cb, wic, wsc, "
                  "sglue_rte, piqa, sciq, lambada_openai")
      ->required();
  cmd->add_option("--json", o->json_out, "Write the metrics and counts as JSON here");
  cmd->add_option("--stride", o->stride,
                  "Perplexity: tokens newly scored per window after the first (default: the context length, as lm-eval)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--batch", o->batch,
                  "Windows (perplexity) or rows (zero-shot) per forward pass (default: 2048 / context length, at least 1)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--limit", *limit,
                  "Zero-shot: score only the first N documents of each task (0 < N < 1: that fraction); for testing only")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tokenizer", o->tokenizer, "gpt2, neox, llama2, a directory with encoder.json + vocab.bpe, or a tokenizer.json")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir,
                  "Data root searched first for wikitext-2-raw/, ptb/, tokenizers/ and zero-shot/<task>/ (then "
                  "$MERINO_DATA, datasets/, the fetch cache: docs/DATA.md)");
  cmd->add_option("--device", o->device, "cpu, or cuda (GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  return [o, limit] {
    if (!eval::is_zero_shot_spec(o->task)) {
      if (*limit > 0) throw ConfigError("--limit applies to the zero-shot tasks only, not --task " + o->task);
      eval::run_eval(*o);
      return 0;
    }
    if (o->stride) throw ConfigError("--stride applies to the perplexity tasks only, not --task " + o->task);
    eval::RunZeroShotOptions z;
    z.checkpoint = o->checkpoint;
    z.tasks = eval::split_task_spec(o->task);
    z.json_out = o->json_out;
    z.tokenizer = o->tokenizer;
    z.data_dir = o->data_dir;
    z.batch = o->batch;
    z.limit = *limit;
    z.progress = o->progress;
    z.device = o->device;
    eval::run_zero_shot(z);
    return 0;
  };
}

}  // namespace merino::cli

// `merino eval --checkpoint DIR --task wikitext2|wikitext2-valid|ptb|text:FILE [--json OUT]`
#include <memory>
#include <string>

#include "cli/commands.h"
#include "data/named_tokenizer.h"
#include "eval/run_eval.h"
#include "eval/tasks.h"

namespace merino::cli {

Action add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Perplexity of a checkpoint on WikiText-2, PTB or a text file (lm-eval protocol)");
  auto o = std::make_shared<eval::RunEvalOptions>();
  o->tokenizer_dir = default_tokenizer_dir();
  o->data_dir = eval::default_data_dir();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint directory, e.g. runs/NAME/latest")->required();
  cmd->add_option("--task", o->task, "wikitext2 (test), wikitext2-valid, ptb (test) or text:FILE")->required();
  cmd->add_option("--json", o->json_out, "Write the metrics and counts as JSON here");
  cmd->add_option("--stride", o->stride,
                  "Tokens newly scored per window after the first (default: the context length, as lm-eval)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--batch", o->batch, "Windows per forward pass (default: 2048 / context length, at least 1)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--tokenizer", o->tokenizer, "gpt2, neox, llama2, a directory with encoder.json + vocab.bpe, or a tokenizer.json")
      ->capture_default_str();
  cmd->add_option("--tokenizer-dir", o->tokenizer_dir,
                  "Where gpt2/ and neox-20b/ live (default: $MERINO_TOKENIZERS, else the build's shared/data/tokenizers)")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir,
                  "Where wikitext-2-raw/ and ptb/ live (default: $MERINO_DATA, else the build's shared/data)")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, or cuda (GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  return [o] {
    eval::run_eval(*o);
    return 0;
  };
}

}  // namespace merino::cli

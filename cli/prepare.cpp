// `merino prepare --input FILE... --out DIR --tokenizer gpt2|neox|PATH`: token shards for
// training (docs/DATA.md). The work is data/prepare.cpp; this file parses options, shows
// its progress line and prints the summary.
#include "data/prepare.h"

#include <cstdio>
#include <memory>
#include <string>

#include "base/progress_line.h"
#include "base/text_format.h"
#include "cli/commands.h"
#include "data/prepare.h"
#include "data/tokenizer/named_tokenizer.h"

namespace merino::cli {
namespace {

int run_prepare(PrepareOptions options, const std::string& tokenizer, const std::string& data_dir) {
  const NamedTokenizer named = load_named_tokenizer(tokenizer, data_dir);
  options.tokenizer_name = named.name;
  ProgressLine line("prepare", "MB", progress_output(stderr), 1);
  bool started = false;
  PrepareProgress last;
  auto detail = [](const PrepareProgress& p) {
    return grouped(p.documents) + " docs, " + grouped(p.tokens) + " tokens";
  };
  const PrepareResult r = prepare_shards(options, named.tokenizer, [&](const PrepareProgress& p) {
    if (!started)
      line.resumed_from(double(p.input_bytes_start) / 1e6);  // shards kept from a run before
    started = true;
    last = p;
    line.update(double(p.input_bytes) / 1e6, double(p.input_bytes_total) / 1e6, detail(p));
  });
  if (started)
    line.finish(double(last.input_bytes) / 1e6, double(last.input_bytes_total) / 1e6, detail(last));
  if (r.already_complete)
    std::printf("%s: already complete, all %s shards verified\n", options.out_dir.c_str(),
                grouped(r.shards_kept).c_str());
  else
    std::printf("%s: wrote %s shards, kept %s finished ones\n", options.out_dir.c_str(),
                grouped(r.shards_written).c_str(), grouped(r.shards_kept).c_str());
  std::printf("train: %s shards, %s tokens; val: %s shards, %s tokens; %s documents\n",
              grouped(r.train_shards).c_str(), grouped(r.train_tokens).c_str(),
              grouped(r.val_shards).c_str(), grouped(r.val_tokens).c_str(),
              grouped(r.documents).c_str());
  if (r.train_tokens == 0)
    std::printf(
        "note: the input holds no more than --val-tokens (%s) tokens, so there is no train split\n",
        grouped(options.val_tokens).c_str());
  if (r.bad_lines > 0) std::printf("skipped %s bad JSON lines\n", grouped(r.bad_lines).c_str());
  if (r.filtered > 0)
    std::printf("left out %s documents of other Pile subsets\n", grouped(r.filtered).c_str());
  return 0;
}

}  // namespace

Action add_prepare_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("prepare", "Tokenize Pile JSON lines or text files into training shards");
  auto options = std::make_shared<PrepareOptions>();
  auto tokenizer = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  cmd->add_option("--input", options->inputs,
                  "Input file, repeatable, read in order: .jsonl/.json (+.zst) Pile lines, or "
                  ".txt/.raw/.tokens "
                  "(+.zst) text, one document per file")
      ->required();
  cmd->add_option("--out", options->out_dir,
                  "Output directory: train_*.bin, val_*.bin, manifest.json")
      ->required();
  cmd->add_option(
         "--tokenizer", *tokenizer,
         "gpt2, neox, llama2, a directory with encoder.json + vocab.bpe, or a tokenizer.json")
      ->required();
  cmd->add_option(
      "--data-dir", *data_dir,
      "Data root searched first for tokenizers/gpt2/ and tokenizers/neox-20b/ (then $MERINO_DATA, "
      "datasets/, the fetch cache: docs/DATA.md)");
  cmd->add_option("--shard-tokens", options->shard_tokens,
                  "Tokens per shard (the last one is shorter)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), uint64_t(2147483647)));
  cmd->add_option("--val-tokens", options->val_tokens,
                  "The first N tokens of the stream form the held-out val shards (0: none)")
      ->capture_default_str();
  cmd->add_option("--pile-set", options->pile_sets,
                  "Keep only documents whose meta.pile_set_name is NAME (repeatable)");
  cmd->add_flag(
      "--skip-bad-lines", options->skip_bad_lines,
      "Count and skip malformed JSON lines or lines without \"text\" instead of stopping");
  cmd->add_option("--threads", options->threads, "Tokenizer threads (0: one per hardware thread)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  return [options, tokenizer, data_dir] { return run_prepare(*options, *tokenizer, *data_dir); };
}

}  // namespace merino::cli

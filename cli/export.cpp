// `merino export CHECKPOINT_DIR --format hf|merino --out DIR [--tokenizer SPEC]`
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "data/tokenizer/named_tokenizer.h"
#include "interop/export_dir.h"
#include "model/param_layout.h"
#include "train/checkpoint.h"

namespace merino::cli {
namespace {

struct ExportOptions {
  std::string checkpoint, format = "hf", out, tokenizer, data_dir;
};

int run_export(const ExportOptions& o) {
  const ModelConfig cfg = load_model_config(o.checkpoint + "/config.yaml");
  if (o.format == "hf") interop::hf_family_for(cfg);  // refuse before reading the weights
  const CheckpointData data = load_checkpoint(o.checkpoint, build_param_layout(cfg), /*with_optimizer=*/false);
  const std::string spec =
      o.tokenizer.empty() ? interop::tokenizer_of_checkpoint(o.checkpoint, data.config_yaml) : o.tokenizer;
  std::unique_ptr<interop::TokenizerExport> tok;
  if (spec.empty())
    std::fprintf(stderr, "merino: warning: the tokenizer of %s is unknown (no data manifest, no tokenizer files in it); "
                 "no tokenizer files written (pass --tokenizer)\n", o.checkpoint.c_str());
  else
    tok = std::make_unique<interop::TokenizerExport>(interop::tokenizer_export(spec, o.data_dir, cfg.context_length));
  if (o.format == "hf") {
    interop::write_hf_directory(cfg, data.params, tok.get(), o.out);
  } else {
    std::ifstream in(o.checkpoint + "/model.safetensors", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    interop::write_merino_directory(cfg, data.config_yaml, bytes, tok.get(), o.out);
  }
  std::printf("exported %s as %s to %s%s\n", o.checkpoint.c_str(), o.format.c_str(), o.out.c_str(),
              tok ? (" (tokenizer " + spec + ")").c_str() : "");
  return 0;
}

}  // namespace

Action add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write a checkpoint's model as a Hugging Face (or merino) directory");
  auto o = std::make_shared<ExportOptions>();
  cmd->add_option("checkpoint", o->checkpoint, "Checkpoint directory, e.g. runs/NAME/latest")->required();
  cmd->add_option("--format", o->format, "hf (transformers.AutoModelForCausalLM) or merino (any shape)")
      ->check(CLI::IsMember({"hf", "merino"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer files to include (gpt2, neox, llama2, a directory or a tokenizer.json); "
                  "default: the one the run's data was prepared with");
  cmd->add_option("--data-dir", o->data_dir,
                  "Data root searched first for tokenizers/ (then $MERINO_DATA, datasets/, the fetch cache: "
                  "docs/DATA.md)");
  return [o] { return run_export(*o); };
}

}  // namespace merino::cli

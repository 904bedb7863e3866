// `merino generate --checkpoint DIR --prompt TEXT [--max-new-tokens N] [--temperature T]
// [--top-k K] [--top-p P] [--seed S] [--device cpu|cuda] [--tokenizer SPEC]`: text from a
// checkpoint, streamed to stdout as the tokens arrive; the speed goes to stderr.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/errors.h"
#include "cli/commands.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/eval_checkpoint.h"
#include "generate/generator.h"
#include "generate/text_stream.h"
#include "interop/tokenizer_export.h"
#include "kernels/device_backend.h"
#include "model/config.h"

namespace merino::cli {
namespace {

struct GenerateCliOptions {
  std::string checkpoint, prompt, tokenizer, data_dir, device = "cpu";
  generate::GenerateOptions gen;
};

// A validator for a floating-point option: `ok` says whether a finite value is allowed, `range`
// names the allowed values in the one-line error.
CLI::Validator real_in(bool (*ok)(double), const std::string& range) {
  return CLI::Validator(
      [ok, range](std::string& s) -> std::string {
        double x = 0;
        const bool number = CLI::detail::lexical_cast(s, x) && std::isfinite(x);
        return number && ok(x) ? "" : "Value " + s + " not in " + range;
      },
      range);
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);  // streaming: each piece shows as soon as it is decoded
}

int run_generate(GenerateCliOptions o) {
  const eval::LoadedCheckpoint ckpt = eval::load_for_eval(o.checkpoint);
  const ModelConfig& cfg = ckpt.config;
  std::string spec = o.tokenizer.empty()
                         ? interop::tokenizer_of_checkpoint(o.checkpoint, ckpt.config_yaml)
                         : o.tokenizer;
  if (spec.empty()) {
    spec = "gpt2";
    std::fprintf(stderr,
                 "merino: warning: the tokenizer of %s is unknown (no data manifest, no tokenizer "
                 "files in it); using gpt2 (pass --tokenizer)\n",
                 o.checkpoint.c_str());
  }
  const NamedTokenizer tok = load_named_tokenizer(spec, o.data_dir);
  if (tok.tokenizer.vocab_size() > cfg.vocab_size)
    throw ConfigError("tokenizer " + tok.name + " has " +
                      std::to_string(tok.tokenizer.vocab_size()) +
                      " tokens, more than the model's vocab_size " +
                      std::to_string(cfg.vocab_size) + " (pass the run's --tokenizer)");

  std::vector<int32_t> prompt = tok.tokenizer.encode(o.prompt);
  if (prompt.empty()) {  // nothing to continue: start a new document, as GPT-2 samples do
    if (tok.tokenizer.eot_token() < 0)
      throw ConfigError("--prompt is empty and " + tok.name +
                        " has no end-of-text token to start from");
    prompt.push_back(tok.tokenizer.eot_token());
  }
  const int keep = cfg.context_length - 1;  // room for at least one new token
  if (int(prompt.size()) > keep) {
    std::fprintf(stderr,
                 "merino: warning: the prompt is %zu tokens, the context %d; keeping its last %d\n",
                 prompt.size(), cfg.context_length, keep);
    prompt.erase(prompt.begin(), prompt.end() - keep);
  }
  o.gen.stop_token = tok.tokenizer.eot_token();

  const DeviceBackend<float> device = make_device_backend<float>(o.device, 0);
  Model<float> model(cfg, *device.backend);
  model.set_params(ckpt.params);
  generate::TextStream text(tok.tokenizer, prompt);
  print(o.prompt);
  const generate::GenerateResult r =
      generate::generate(model, prompt, o.gen, [&](int32_t t) { print(text.push(t)); });
  print(text.finish() + "\n");
  const char* why = r.reason == generate::StopReason::StopToken   ? "end of text"
                    : r.reason == generate::StopReason::MaxTokens ? "--max-new-tokens"
                                                                  : "the context length";
  const double rate = r.decode_seconds > 0
                          ? double(r.tokens.size() > 1 ? r.tokens.size() - 1 : 0) / r.decode_seconds
                          : 0;
  std::fprintf(stderr,
               "generated %zu tokens (stopped at %s): prompt %zu tokens in %.3f s, %.1f tokens/s "
               "after it (%s)\n",
               r.tokens.size(), why, prompt.size(), r.prefill_seconds, rate, o.device.c_str());
  return 0;
}

}  // namespace

Action add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "generate", "Continue a prompt with a checkpoint's model (KV cache, streamed)");
  auto o = std::make_shared<GenerateCliOptions>();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint directory, e.g. runs/NAME/latest")
      ->required();
  cmd->add_option("--prompt", o->prompt, "Text to continue")->required();
  cmd->add_option("--max-new-tokens", o->gen.max_new_tokens, "Stop after this many new tokens")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--temperature", o->gen.sampling.temperature,
                  "Softmax temperature; 0: greedy (argmax)")
      ->check(real_in([](double t) { return t >= 0; }, "[0, inf) (0: greedy)"))
      ->capture_default_str();
  cmd->add_option("--top-k", o->gen.sampling.top_k,
                  "Sample from the K most likely tokens only; 0: all")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--top-p", o->gen.sampling.top_p,
                  "Sample from the smallest set of most likely tokens whose probability reaches P, "
                  "in (0, 1]")
      ->check(real_in([](double p) { return p > 0 && p <= 1; }, "(0, 1]"))
      ->capture_default_str();
  cmd->add_option("--seed", o->gen.seed, "Seed of the sampler: the same seed, the same text")
      ->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, or cuda (GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option(
      "--tokenizer", o->tokenizer,
      "gpt2, neox, llama2, a directory or a tokenizer.json; default: the one the run's data was "
      "prepared with");
  cmd->add_option(
      "--data-dir", o->data_dir,
      "Data root searched first for tokenizers/ (then $MERINO_DATA, datasets/, the fetch cache: "
      "docs/DATA.md)");
  return [o] { return run_generate(*o); };
}

}  // namespace merino::cli

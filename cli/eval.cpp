// `merino eval --checkpoint DIR --task T [--json OUT]`: perplexity (wikitext2, wikitext2-valid,
// ptb, text:FILE) or zero-shot accuracy (a comma-separated list of lm-eval tasks, or merino).
// eval/ computes (run_eval, run_zero_shot); this file checks the options, shows the progress
// lines, prints the summaries and writes the JSON.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "base/progress_line.h"
#include "base/text_format.h"
#include "cli/commands.h"
#include "eval/run_eval.h"
#include "eval/run_zero_shot.h"
#include "eval/tasks.h"

namespace merino::cli {
namespace {

struct EvalCommand {
  eval::RunEvalOptions run;
  std::string json_out;
  double limit = 0;
};

// ConfigError when OUT's directory does not exist, so a typo fails before the evaluation.
void check_output_directory(const std::string& json_out) {
  if (json_out.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(json_out).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
    throw ConfigError("--json " + json_out + ": directory " + parent.string() + " does not exist");
}

void write_json(const std::string& json_out, const std::string& text) {
  if (json_out.empty()) return;
  write_file_atomically(json_out, text + "\n");
  std::printf("wrote %s\n", json_out.c_str());
}

// "eval TASK: done/total UNIT ..." from the moment the task's scoring begins
eval::ProgressFactory progress_lines(const std::string& unit) {
  return [unit](const std::string& task) -> eval::ScoreProgress {
    auto line = std::make_shared<ProgressLine>("eval " + task, unit, progress_output(stderr));
    return [line](size_t done, size_t total, uint64_t tokens) {
      const std::string detail = grouped(tokens) + " tokens";
      if (done < total)
        line->update(double(done), double(total), detail);
      else
        line->finish(double(done), double(total), detail);
    };
  };
}

void print_perplexity(const nlohmann::json& j, const eval::EvalResult& r) {
  std::printf(
      "%s v%d: %llu documents, %llu tokens, %llu words, %llu bytes (checkpoint %s, step %lld)\n",
      j["task"].get<std::string>().c_str(), j["task_version"].get<int>(),
      (unsigned long long)r.documents, (unsigned long long)r.totals.tokens,
      (unsigned long long)r.totals.words, (unsigned long long)r.totals.bytes,
      j["checkpoint"].get<std::string>().c_str(), j["step"].get<long long>());
  for (const char* name :
       {"word_perplexity", "byte_perplexity", "bits_per_byte", "token_perplexity"})
    std::printf("  %-17s %.4f\n", name, j["metrics"][name].get<double>());
  std::printf("scored in %.1f s: %.0f tokens/s (%llu windows, batch %d, stride %d)\n", r.seconds,
              double(r.totals.tokens) / r.seconds, (unsigned long long)r.windows, r.batch,
              r.stride);
}

int run_perplexity(EvalCommand& c) {
  if (c.limit > 0)
    throw ConfigError("--limit applies to the zero-shot tasks only, not --task " + c.run.task);
  check_output_directory(c.json_out);
  c.run.progress = progress_lines("windows");
  const eval::EvalRun r = eval::run_eval(c.run);
  print_perplexity(r.report, r.result);
  write_json(c.json_out, r.report.dump(2));
  return 0;
}

void print_zero_shot_table(const std::vector<eval::ZeroShotResult>& results,
                           const std::vector<eval::ZeroShotTask>& tasks) {
  std::printf(
      "\n| task | version | n | metric | value | | stderr |\n|---|---:|---:|---|---:|---|---:|\n");
  for (size_t t = 0; t < results.size(); ++t)
    for (size_t m = 0; m < results[t].metrics.size(); ++m) {
      const auto& [name, a] = results[t].metrics[m];
      const bool first = m == 0;
      std::printf("| %s | %s | %s | %s | %.4f | ± | %s |\n", first ? results[t].task.c_str() : "",
                  first ? std::to_string(tasks[t].info.version).substr(0, 3).c_str() : "",
                  first ? std::to_string(results[t].n).c_str() : "", name.c_str(), a.value,
                  a.stderr_ ? std::to_string(*a.stderr_).substr(0, 6).c_str() : "N/A");
    }
}

int run_zero_shot(const EvalCommand& c) {
  const eval::RunEvalOptions& o = c.run;
  if (o.stride)
    throw ConfigError("--stride applies to the perplexity tasks only, not --task " + o.task);
  check_output_directory(c.json_out);
  const eval::ZeroShotPlan plan = eval::plan_zero_shot(eval::split_task_spec(o.task), o.data_dir);
  for (const std::string& name : plan.missing) {
    const eval::ZeroShotTaskInfo& info = eval::zero_shot_task_info(name);
    std::fprintf(stderr, "merino: %s skipped: no data in %s (expected one of %s; get %s)\n",
                 name.c_str(), eval::zero_shot_task_dir(o.data_dir, name).c_str(),
                 info.files.c_str(), info.source.c_str());
  }
  for (const eval::ZeroShotTask& task : plan.tasks)
    if (!task.verified)
      std::fprintf(
          stderr,
          "merino: %s: %s could not be checked against a published checksum (none is known for "
          "this form of the split); its numbers are comparable only if it is lm-eval's split\n",
          task.info.name.c_str(), task.file.c_str());

  eval::RunZeroShotOptions z;
  z.checkpoint = o.checkpoint;
  z.tokenizer = o.tokenizer;
  z.data_dir = o.data_dir;
  z.batch = o.batch;
  z.limit = c.limit;
  z.device = o.device;
  z.progress = progress_lines("requests");
  z.task_done = [](const eval::ZeroShotResult& r) {
    std::fprintf(stderr, "eval %s: %zu documents, %llu requests in %llu rows, %.1f s\n",
                 r.task.c_str(), r.n, (unsigned long long)r.requests,
                 (unsigned long long)r.stats.rows, r.seconds);
  };
  const eval::ZeroShotRun r = eval::run_zero_shot(z, plan);

  const nlohmann::ordered_json& config = r.report["config"];
  std::printf("zero-shot eval of %s (step %lld, %s, tokenizer %s, context %d)%s\n",
              o.checkpoint.c_str(), config["step"].get<long long>(),
              config["model"].get<std::string>().c_str(),
              config["tokenizer"].get<std::string>().c_str(), config["context_length"].get<int>(),
              c.limit > 0 ? " -- with --limit: for testing only" : "");
  print_zero_shot_table(r.results, plan.tasks);
  write_json(c.json_out, r.report.dump(2));
  return 0;
}

}  // namespace

Action add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval",
                                 "Perplexity on WikiText-2, PTB or a text file, or zero-shot "
                                 "accuracy on lm-eval's tasks (lm-eval protocol)");
  auto c = std::make_shared<EvalCommand>();
  eval::RunEvalOptions* o = &c->run;
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint directory, e.g. runs/NAME/latest")
      ->required();
  cmd->add_option("--task", o->task,
                  "wikitext2 (test), wikitext2-valid, ptb (test), text:FILE, or zero-shot tasks "
                  "T[,T...]: merino, "
                  "hellaswag, winogrande, openbookqa, arc_easy, arc_challenge, pubmedqa, logiqa, "
                  "boolq, cb, wic, wsc, "
                  "sglue_rte, piqa, sciq, lambada_openai")
      ->required();
  cmd->add_option("--json", c->json_out, "Write the metrics and counts as JSON here");
  cmd->add_option("--stride", o->stride,
                  "Perplexity: tokens newly scored per window after the first (default: the "
                  "context length, as lm-eval)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--batch", o->batch,
                  "Windows (perplexity) or rows (zero-shot) per forward pass (default: 2048 / "
                  "context length, at least 1)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--limit", c->limit,
                  "Zero-shot: score only the first N documents of each task (0 < N < 1: that "
                  "fraction); for testing only")
      ->check(CLI::PositiveNumber);
  cmd->add_option(
         "--tokenizer", o->tokenizer,
         "gpt2, neox, llama2, a directory with encoder.json + vocab.bpe, or a tokenizer.json")
      ->capture_default_str();
  cmd->add_option(
      "--data-dir", o->data_dir,
      "Data root searched first for wikitext-2-raw/, ptb/, tokenizers/ and zero-shot/<task>/ (then "
      "$MERINO_DATA, datasets/, the fetch cache: docs/DATA.md)");
  cmd->add_option("--device", o->device, "cpu, or cuda (GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  return
      [c] { return eval::is_zero_shot_spec(c->run.task) ? run_zero_shot(*c) : run_perplexity(*c); };
}

}  // namespace merino::cli

// `merino eval --task T[,T...]` for the zero-shot tasks: checkpoint + tasks -> a summary table
// on stdout and lm-evaluation-harness's results layout as JSON (docs/EVAL.md).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace merino::eval {

struct RunZeroShotOptions {
  std::string checkpoint;
  std::vector<std::string> tasks;  // task names, "merino" for MeRino's set
  std::string json_out;
  std::string tokenizer = "gpt2";
  std::string data_dir;  // --data-dir: the first data root (data/data_paths.h), or ""
  int batch = 0;      // 0: auto_batch(context length)
  double limit = 0;   // see ZeroShotOptions
  bool progress = true;
  std::string device = "cpu";
};

// "arc_easy,piqa" -> {"arc_easy", "piqa"}; true when every name is a zero-shot task or "merino".
bool is_zero_shot_spec(const std::string& spec);
std::vector<std::string> split_task_spec(const std::string& spec);

// Tasks named explicitly must have their data; those that "merino" brings in are skipped, and
// named with where to get them, when their data is missing (DataError when none is left).
// Throws ConfigError / DataError (exit code 2) naming the option or file.
nlohmann::json run_zero_shot(const RunZeroShotOptions& options);

}  // namespace merino::eval

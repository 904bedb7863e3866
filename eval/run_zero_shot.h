// `merino eval --task T[,T...]` for the zero-shot tasks, without the command line: checkpoint +
// tasks -> results and lm-evaluation-harness's results layout as JSON (docs/EVAL.md).
// cli/eval.cpp prints the warnings, the per-task lines and the table, and writes the JSON.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/evaluate.h"
#include "eval/zero_shot_evaluate.h"
#include "eval/zero_shot_tasks.h"

namespace merino::eval {

struct RunZeroShotOptions {
  std::string checkpoint;
  std::string tokenizer = "gpt2";
  std::string data_dir;  // --data-dir: the first data root (data/data_paths.h), or ""
  int batch = 0;         // 0: auto_batch(context length)
  double limit = 0;      // see ZeroShotOptions
  std::string device = "cpu";
  ProgressFactory progress;                              // may be empty
  std::function<void(const ZeroShotResult&)> task_done;  // as each task ends; may be empty
};

// The tasks to run, their data read and checked, and the tasks of the "merino" set left out
// for want of data.
struct ZeroShotPlan {
  std::vector<ZeroShotTask> tasks;
  std::vector<std::string> missing;
};

struct ZeroShotRun {
  std::vector<ZeroShotResult> results;  // one per planned task, in order
  nlohmann::ordered_json report;        // lm-eval's results layout, the --json file's contents
};

// "arc_easy,piqa" -> {"arc_easy", "piqa"}; true when every name is a zero-shot task or "merino".
bool is_zero_shot_spec(const std::string& spec);
std::vector<std::string> split_task_spec(const std::string& spec);

// Tasks named explicitly must have their data; those that "merino" brings in are skipped when
// their data is missing (DataError when none is left). Throws ConfigError / DataError (exit code
// 2) naming the option or file.
ZeroShotPlan plan_zero_shot(const std::vector<std::string>& names, const std::string& data_dir);
ZeroShotRun run_zero_shot(const RunZeroShotOptions& options, const ZeroShotPlan& plan);

}  // namespace merino::eval

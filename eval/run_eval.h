// `merino eval` for the perplexity tasks, without the command line: checkpoint directory + task
// -> the result and its JSON report (schema in docs/EVAL.md). cli/eval.cpp prints and writes it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "eval/evaluate.h"

namespace merino::eval {

struct RunEvalOptions {
  std::string checkpoint;  // a checkpoint directory (RUN/latest or RUN/step_N)
  std::string task;        // wikitext2, wikitext2-valid, ptb or text:FILE
  std::string tokenizer = "gpt2";
  std::string data_dir;  // --data-dir: first data root of the lookup (data/data_paths.h), or ""
  int stride = 0, batch = 0;   // 0: defaults (evaluate.h)
  std::string device = "cpu";  // cpu or cuda (GPU 0)
  ProgressFactory progress;    // may be empty
};

struct EvalRun {
  EvalResult result;
  nlohmann::json report;  // the --json file's contents
};

// Throws ConfigError / DataError (exit code 2) for bad options or input files, each naming the
// option or file.
EvalRun run_eval(const RunEvalOptions& options);

}  // namespace merino::eval

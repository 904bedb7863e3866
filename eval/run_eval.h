// `merino eval` without the command line: checkpoint directory + task -> metrics, printed as a
// summary on stdout and written as JSON (schema in docs/EVAL.md).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace merino::eval {

struct RunEvalOptions {
  std::string checkpoint;  // a checkpoint directory (RUN/latest or RUN/step_N)
  std::string task;        // wikitext2, wikitext2-valid, ptb or text:FILE
  std::string json_out;    // empty: no JSON file
  std::string tokenizer = "gpt2";
  std::string data_dir;        // --data-dir: first data root of the lookup (data/data_paths.h), or ""
  int stride = 0, batch = 0;  // 0: defaults (evaluate.h)
  bool progress = true;       // the progress line, when stderr is a terminal
  std::string device = "cpu";  // cpu or cuda (GPU 0)
};

// Throws ConfigError / DataError (exit code 2) for bad options or input files, each naming the
// option or file.
nlohmann::json run_eval(const RunEvalOptions& options);

}  // namespace merino::eval

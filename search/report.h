// What `merino search` writes: the model YAML (docs/MODEL.md format, with the command and the
// budgets used in comments) and the search log as JSON lines.
#pragma once
#include <string>

#include "search/evolution.h"

namespace merino::search {

struct SearchReport {
  std::string command;  // the command line that reproduces the search
  std::string name;     // model name: letters, digits, '-', '_' and '.' only
  SearchSettings settings;
  std::string device;      // the --device profile, or kMeasuredDevice with --measure
  int measure_threads = 0;  // --measure: the OpenMP threads the latency table was timed with
  std::string objective;
  ObjectiveParams objective_params;
  // Why the FLOP budget is what it is when the user gave none ("" when given): the reference
  // shape it was taken from (search/default_budget.h).
  std::string assumed_flops;
  SearchResult result;
  double seconds = 0;
};

std::string model_yaml(const SearchReport& report);
// One JSON object per line: "start" (settings and budgets), "best" (each time the best
// candidate changed: the best score at every iteration as a step function), "done" (counts,
// the budgets used as fractions, the winning blocks).
std::string search_log(const SearchReport& report);
// One JSON object on one line for `merino search --score`: the file, objective (with rho_max),
// device and context, then score, entropy, rho, effective, params, flops, latency_ms as in the
// log, and the blocks.
std::string score_json(const std::string& file, const std::string& objective,
                       const ObjectiveParams& objective_params, const std::string& device,
                       const SearchSpace& space, const Candidate& candidate,
                       const Evaluation& eval);
// configs/m.yaml -> configs/m.search.jsonl
std::string log_path_for(const std::string& yaml_path);
// Parses the model YAML text as `merino info` would and throws std::runtime_error unless the
// model it builds has exactly `params` parameters (count_model and build_param_layout).
void verify_model_yaml(const std::string& yaml, const std::string& file, size_t params);
// Checks the YAML, creates missing folders, then writes the YAML and the log beside it, each
// atomically (temporary file + rename): an existing file is replaced whole or not at all.
void write_report(const SearchReport& report, const std::string& yaml_path);

}  // namespace merino::search

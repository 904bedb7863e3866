// What every `merino eval` run needs before scoring: the checkpoint's config and weights, and an
// early check that the JSON output can be written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace merino::eval {

struct LoadedCheckpoint {
  ModelConfig config;
  std::vector<float> params;
  int64_t step = 0;
  std::string resolved_dir;  // RUN/latest is a symlink; this names the step it pointed at
};

// DataError for a missing directory or file, ConfigError for a bad config.yaml.
LoadedCheckpoint load_for_eval(const std::string& dir);

// ConfigError when OUT's directory does not exist, so a typo fails before the evaluation.
void check_output_directory(const std::string& json_out);

}  // namespace merino::eval

// What every `merino eval` run needs before scoring: the checkpoint's config and weights.
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

}  // namespace merino::eval

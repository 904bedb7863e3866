// What every `merino eval` (and `merino generate`) run needs first: the checkpoint's config and
// weights.
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
  std::string config_yaml;   // the run's config.yaml as written (names its data, so its tokenizer)
};

// DataError for a missing directory or file, ConfigError for a bad config.yaml.
LoadedCheckpoint load_for_eval(const std::string& dir);

}  // namespace merino::eval

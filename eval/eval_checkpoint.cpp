#include "eval/eval_checkpoint.h"

#include <filesystem>

#include "base/errors.h"
#include "model/param_layout.h"
#include "train/checkpoint.h"

namespace merino::eval {

namespace fs = std::filesystem;

LoadedCheckpoint load_for_eval(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir + ": no such checkpoint directory");
  LoadedCheckpoint c;
  c.config = load_model_config(dir + "/config.yaml");
  CheckpointData data = load_checkpoint(dir, build_param_layout(c.config), /*with_optimizer=*/false);
  c.params = std::move(data.params);
  c.step = data.state.step;
  c.config_yaml = std::move(data.config_yaml);
  c.resolved_dir = fs::canonical(dir, ec).string();
  return c;
}

}  // namespace merino::eval

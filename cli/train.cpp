// `merino train CONFIG.yaml [--set key=value ...] [--resume auto|DIR]`
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace merino::cli {

Action add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model (CPU backend) from a training config");
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto resume = std::make_shared<std::string>();
  cmd->add_option("config", *file, "Training config (YAML)")->required();
  cmd->add_option("--set", *sets, "Override a config value, e.g. --set train.max_steps=200")
      ->allow_extra_args(false);
  cmd->add_option("--resume", *resume,
                  "'auto': continue from the newest valid checkpoint in run.dir; or a checkpoint directory");
  return [file, sets, resume] { return run_training(load_train_config(*file, *sets), *resume); };
}

}  // namespace merino::cli

// `merino train CONFIG.yaml [--set key=value ...] [--resume auto|DIR]`, on one process or on
// every rank of an mpirun / srun / torchrun-style launch (docs/DISTRIBUTED.md).
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "train/distributed/communicator.h"
#include "train/distributed/launch_env.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace merino::cli {
namespace {

int train(const std::string& file, const std::vector<std::string>& sets, const std::string& resume) {
  const LaunchEnv env = discover_launch_env();
  // Every rank reads the config before connecting, as run.device picks the transport; a bad
  // config ends each rank alike, before any of them waits for the others.
  const TrainConfig cfg = load_train_config(file, sets);
  const std::unique_ptr<Communicator> comm = make_communicator(env, cfg.device, cfg.run_dir);
  if (comm->world() == 1) return run_training(cfg, resume, *comm);
  // An error on one rank would leave the others waiting inside a collective: report it with
  // the rank and end the whole job with its exit code.
  int code = 1;
  try {
    return run_training(cfg, resume, *comm);
  } catch (const std::exception& e) {
    code = report_error(e, "rank " + std::to_string(comm->rank()) + ": ");
  }
  comm->abort(code);
}

}  // namespace

Action add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model (CPU or CUDA backend; data parallel under mpirun, "
                                          "srun or a torchrun-style launch)");
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto resume = std::make_shared<std::string>();
  cmd->add_option("config", *file, "Training config (YAML)")->required();
  cmd->add_option("--set", *sets, "Override a config value, e.g. --set train.max_steps=200")
      ->allow_extra_args(false);
  cmd->add_option("--resume", *resume,
                  "'auto': continue from the newest valid checkpoint in run.dir; or a checkpoint directory");
  return [file, sets, resume] { return train(*file, *sets, *resume); };
}

}  // namespace merino::cli

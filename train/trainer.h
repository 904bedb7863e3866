// The training loop: data -> forward/backward (gradient accumulation) -> global-norm clipping
// -> AdamW with the schedule's learning rate, with validation, metrics, checkpoints, exact
// resume and graceful stop on SIGTERM / SIGINT.
#pragma once
#include <string>

#include "train/train_config.h"

namespace merino {

// resume: "" (fresh run; the run directory must not hold checkpoints), "auto" (newest valid
// checkpoint in run_dir, or a fresh start when there is none) or a checkpoint directory.
// Returns the process exit code.
int run_training(const TrainConfig& cfg, const std::string& resume);

}  // namespace merino

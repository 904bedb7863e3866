// The training loop: data -> forward/backward (gradient accumulation) -> global-norm clipping
// -> AdamW with the schedule's learning rate, data parallel across ranks (gradient all-reduce
// overlapped with the backward pass, or ZeRO-1), with validation, metrics, checkpoints, exact
// resume and graceful stop on SIGTERM / SIGINT.
#pragma once
#include <string>

#include "train/communicator.h"
#include "train/train_config.h"

namespace merino {

// resume: "" (fresh run; the run directory must not hold checkpoints), "auto" (newest valid
// checkpoint in run_dir, or a fresh start when there is none) or a checkpoint directory.
// Every rank of `comm` calls it with the same arguments: data parallel over the ranks, rank 0
// printing, logging and writing checkpoints. Returns the process exit code.
int run_training(const TrainConfig& cfg, const std::string& resume, Communicator& comm);

}  // namespace merino

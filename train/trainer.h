// The training loop: data -> forward/backward (gradient accumulation) -> global-norm clipping
// -> AdamW with the schedule's learning rate, data parallel across ranks (gradient all-reduce
// overlapped with the backward pass, or ZeRO-1), with validation, metrics, checkpoints, exact
// resume and graceful stop on SIGTERM / SIGINT.
#pragma once
#include <string>

#include "kernels/bf16.h"
#include "kernels/device_memory.h"
#include "train/distributed/communicator.h"
#include "train/train_config.h"

namespace merino {

// Every buffer one rank's training allocates on its backend, in T = float (fp32) or bf16: the
// model's for micro-batches of B x Tn, then AdamW's two moments over `optimizer_numel`
// parameters (all of them, or a ZeRO-1 shard) and, with ZeRO-1, that shard's summed gradients.
// The trainer reserves exactly this (Backend::reserve); `merino info` prints it.
template <class T>
MemoryPlan training_memory_plan(const ModelConfig& model, int B, int Tn, size_t optimizer_numel,
                                bool zero1);

// resume: "" (fresh run; the run directory must not hold checkpoints), "auto" (newest valid
// checkpoint in run_dir, or a fresh start when there is none) or a checkpoint directory.
// Every rank of `comm` calls it with the same arguments: data parallel over the ranks, rank 0
// printing, logging and writing checkpoints. Returns the process exit code.
int run_training(const TrainConfig& cfg, const std::string& resume, Communicator& comm);

}  // namespace merino

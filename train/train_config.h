// A training run's configuration: one YAML file with a `model` section (inline, or a path to a
// model config) and the run's sections, plus `--set key.path=value` overrides. Validation is as
// strict as the model's: unknown key, wrong type, out of range -> one line, exit 2.
// Paths in the file are relative to the working directory.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/schedule.h"

namespace merino {

struct TrainConfig {
  ModelConfig model;
  std::string data_dir;          // output of `merino prepare`: train_*.bin, val_*.bin
  bool shuffle = true;
  std::string run_dir;
  uint64_t seed = 1;
  int micro_batch = 1;
  int seq_len = 1;
  int grad_accum = 1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_embeddings = false;
  double grad_clip = 1.0;  // 0 disables clipping
  Schedule schedule;       // total_steps = max_steps
  int64_t max_steps = 1;
  int64_t val_every = 0;   // 0: only at the end
  int val_batches = 10;
  int64_t log_every = 10;
  int64_t checkpoint_every = 0;  // 0: only at the end (and on SIGTERM / SIGINT)
  int keep_last = 2;
  std::string device = "cpu";  // "cpu" or "cuda"
  // "fp32", or "bf16": bf16 parameters and activations over fp32 master weights, gradients and
  // optimizer state (mixed precision; emulated op by op on the CPU)
  std::string precision = "fp32";
  // CUDA attention kernels: "v2" (default) or "v1" (the reference version; fp32 runs v1's
  // fp32 kernels under either name)
  std::string attention = "v2";
  // data parallelism across the ranks of a launch (docs/DISTRIBUTED.md)
  bool zero1 = false;        // shard the AdamW state across ranks (ZeRO stage 1)
  bool overlap = true;       // all-reduce gradient buckets during the backward pass
  double bucket_mb = 25.0;   // bucket size for the overlapped all-reduce
  std::string resolved_yaml;  // the whole config after overrides, as printed and saved

  // tokens of one optimizer step on one rank; the step consumes world times as many
  int64_t tokens_per_step() const { return int64_t(micro_batch) * seq_len * grad_accum; }
};

// `overrides` are "a.b.c=value" strings applied before validation.
TrainConfig load_train_config(const std::string& file, const std::vector<std::string>& overrides);

}  // namespace merino

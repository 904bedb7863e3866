// Streams training batches from a directory of shards, identically on every run and rank.
// The token stream (shards in order, or shuffled by (seed, epoch)) is cut into sequences of
// T + 1 tokens at stride T; each batch is B sequences: inputs are the first T tokens of each,
// targets the last T. With R ranks, global sequence index i belongs to rank i mod R, so ranks
// read disjoint slices and together cover each sequence exactly once per epoch. Within a shard,
// sequence order may be shuffled by (seed, epoch) too. The whole position is a LoaderState:
// restoring it resumes at exactly the next token the loader would have read.
//
// Precisely (docs/DATA.md): a shard of n tokens holds floor((n - 1) / T) sequences, sequence j
// being tokens [j*T, j*T + T]; sequences never span two shards, and the last (n - 1) mod T
// tokens of a shard are not used. Global indices count sequences from the start of epoch 0
// straight through later epochs, so the R sequences of one step are consecutive and every rank's
// state after a step is the same LoaderState: a checkpoint may store rank 0's state for all
// ranks. When R divides the epoch's sequence count this is the per-epoch index i mod R.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/errors.h"

namespace merino {

struct LoaderOptions {
  int batch = 1;        // B sequences per batch
  int seq_len = 1;      // T
  int rank = 0;
  int world = 1;
  uint64_t seed = 0;
  bool shuffle = false;  // shard order and sequence order within each shard, per epoch
  // With the directory constructor: "" takes every *.bin shard, "train" only train_*.bin, and so
  // on (data/shard_names.h). `merino prepare` puts train_*.bin and val_*.bin in one directory,
  // so an empty split there is refused rather than training on validation data.
  std::string split;
  // > 0: every token of every shard must be below it, checked when the shard opens, so a shard
  // made with another tokenizer is refused by name and offset before the first step
  int64_t vocab_size = 0;
};

struct LoaderState {
  uint64_t epoch = 0;
  uint64_t shard = 0;     // index into this epoch's shard order
  uint64_t sequence = 0;  // next sequence (of this shard's order) to consider
  bool operator==(const LoaderState& o) const {
    return epoch == o.epoch && shard == o.shard && sequence == o.sequence;
  }
};
void to_json(nlohmann::json& j, const LoaderState& s);
void from_json(const nlohmann::json& j, LoaderState& s);

class DataLoader {
 public:
  // The split's `*.bin` shards in `dir` (sorted by name). Throws DataError naming the directory
  // when it is missing or holds no shard, or naming the shard when one is not a regular file
  // (a FIFO would block the open), invalid or too short for one sequence.
  DataLoader(const std::string& dir, const LoaderOptions& options);
  DataLoader(std::vector<std::string> shard_paths, const LoaderOptions& options);
  ~DataLoader();
  DataLoader(DataLoader&&) noexcept;

  // Fills inputs and targets (B*T each, row-major [B, T]) with this rank's next batch,
  // moving to the next shard / epoch as needed.
  void next(int32_t* inputs, int32_t* targets);

  LoaderState state() const;
  void restore(const LoaderState& state);  // throws DataError if out of range for these shards
  // sequences of length T+1 this rank reads per epoch (epoch 0's share when R does not divide
  // epoch_sequences(); the shares then rotate between ranks from epoch to epoch)
  uint64_t sequences_per_epoch() const;
  uint64_t epoch_sequences() const;  // sequences of all ranks together per epoch
  const LoaderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace merino

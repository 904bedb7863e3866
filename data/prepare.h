// `merino prepare`: documents from Pile JSON lines (.jsonl, .jsonl.zst) or plain-text files, each
// followed by <|endoftext|>, tokenized and cut into shards in one output directory:
//   val_000000.bin ...    the first `val_tokens` tokens of the stream (held out)
//   train_000000.bin ...  the rest, `shard_tokens` per shard, the last one shorter
//   manifest.json         settings, and per shard its size, sha256 and resume point
// The output depends only on the inputs and settings, never on the thread count. Shards and the
// manifest are written atomically, the manifest after every shard; re-running with the same
// settings verifies the finished shards by sha256 and continues after the last good one, and
// a directory written with other settings is refused rather than mixed. See docs/DATA.md.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace merino {

struct PrepareOptions {
  std::vector<std::string> inputs;
  std::string out_dir;
  std::string tokenizer_name;  // recorded in the manifest ("gpt2", "neox", a path)
  uint64_t shard_tokens = 100'000'000;
  uint64_t val_tokens = 1'000'000;
  std::vector<std::string> pile_sets;  // keep only documents from these Pile subsets
  bool skip_bad_lines = false;         // count and skip bad JSON lines instead of failing
  int threads = 0;                     // tokenizer threads; <= 0: one per hardware thread
  size_t text_piece_bytes = size_t(256) << 10;  // plain-text files are tokenized in such pieces
};

struct PrepareProgress {
  uint64_t input_bytes = 0;        // input file bytes consumed (compressed bytes for .zst)
  uint64_t input_bytes_start = 0;  // where this run started (after skipping finished shards)
  uint64_t input_bytes_total = 0;
  uint64_t documents = 0;
  uint64_t tokens = 0;
};

struct PrepareResult {
  bool already_complete = false;  // nothing to do: every shard was verified
  uint64_t shards_written = 0, shards_kept = 0;
  uint64_t train_shards = 0, val_shards = 0;
  uint64_t train_tokens = 0, val_tokens = 0;
  uint64_t documents = 0, bad_lines = 0, filtered = 0;
};

// Throws DataError ("FILE:LINE: problem" for bad input lines) on any bad input or setting;
// shards finished before the error stay valid and listed in the manifest.
PrepareResult prepare_shards(const PrepareOptions& options, const Tokenizer& tokenizer,
                             const std::function<void(const PrepareProgress&)>& progress = {});

}  // namespace merino

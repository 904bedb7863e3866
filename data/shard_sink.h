// The token stream of `merino prepare` cut into shards: the first val_tokens tokens go to
// val_*.bin, the rest to train_*.bin, shard_tokens per file. Each shard is written as soon as it
// is full, and the manifest, rewritten after it, records where the stream continues.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/piece_reader.h"

namespace merino {

class ShardSink {
 public:
  // Continues after the shards `manifest` already lists.
  ShardSink(std::string out_dir, Manifest& manifest, uint64_t shard_tokens, uint64_t val_tokens, int32_t eot);

  // Appends a piece's tokens, then the end-of-text token if the piece ends a document, leaving
  // out the first `skip` of those (held by shards of an earlier run). Returns the part of `skip`
  // this piece did not cover, for the next piece.
  uint64_t add(const Piece& piece, const std::vector<int32_t>& tokens, uint64_t skip);
  // Writes the last, shorter shard and marks the manifest complete. `end`: the counters at the
  // end of the inputs.
  void finish(const InputPosition& end);

  uint64_t tokens() const { return train_tokens_ + val_tokens_ + buffer_.size(); }
  uint64_t documents() const { return documents_; }
  uint64_t shards_written() const { return written_; }

 private:
  bool in_val() const { return val_tokens_ < val_target_; }
  uint64_t capacity() const;
  void flush(const ResumePoint& next);

  std::string out_dir_;
  std::string manifest_path_;
  Manifest& manifest_;
  uint64_t shard_tokens_, val_target_;
  int32_t eot_;
  std::vector<int32_t> buffer_;  // the shard being filled
  uint64_t train_tokens_ = 0, val_tokens_ = 0;  // in finished shards
  uint64_t train_shards_ = 0, val_shards_ = 0;
  uint64_t documents_ = 0;
  uint64_t written_ = 0;
};

}  // namespace merino

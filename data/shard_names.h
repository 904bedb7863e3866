// How a prepared directory names its shards: `merino prepare` writes SPLIT_NNNNNN.bin, SPLIT
// being "val" (the first val_tokens tokens) or "train" (the rest), and a loader picks one split
// by that prefix. The one owner of the scheme: prepare, its shard sink and the loader ask here.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace merino {

inline const std::string kTrainSplit = "train";
inline const std::string kValSplit = "val";

// "train_000003.bin"
inline std::string shard_file_name(const std::string& split, uint64_t index) {
  char number[24];
  std::snprintf(number, sizeof number, "%06llu", static_cast<unsigned long long>(index));
  return split + "_" + number + ".bin";
}

// A shard file of `split`; with an empty split, any *.bin file.
inline bool is_shard_file_of(const std::string& file_name, const std::string& split) {
  const std::string ext = ".bin";
  const bool bin = file_name.size() > ext.size() &&
                   file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0;
  return bin && (split.empty() || file_name.compare(0, split.size() + 1, split + "_") == 0);
}

// A name `merino prepare` writes (train_*.bin or val_*.bin), which it refuses to overwrite.
inline bool is_prepared_shard_name(const std::string& file_name) {
  return is_shard_file_of(file_name, kTrainSplit) || is_shard_file_of(file_name, kValSplit);
}

}  // namespace merino

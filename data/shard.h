// Token shards in the llm.c format: a header of 256 little-endian int32 — [0] magic 20240520,
// [1] version, [2] token count — then the tokens. Version 1 stores uint16 tokens (vocabularies
// up to 65536, GPT-2); version 2, our extension, stores uint32 tokens for larger vocabularies.
// Readers mmap the file and validate it before any token is read: a wrong magic or version, or
// a file size that disagrees with the header, is one error naming the shard, and so is anything
// but a regular file (opened non-blocking, so a FIFO cannot hang the open).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/errors.h"

namespace merino {

constexpr int32_t kShardMagic = 20240520;
constexpr int kShardHeaderInts = 256;

// Writes `tokens` to `path` atomically (a temporary name in the same directory, fsync, rename):
// an interrupted write never leaves a file under `path`. Picks version 1 when every token
// fits in uint16, else version 2. Returns the sha256 (hex) of the file's bytes.
std::string write_shard(const std::string& path, const std::vector<int32_t>& tokens);

// A read-only, memory-mapped, validated shard. Movable, not copyable.
class ShardReader {
 public:
  explicit ShardReader(const std::string& path);  // throws DataError("PATH: problem")
  ~ShardReader();
  ShardReader(ShardReader&& other) noexcept;
  ShardReader& operator=(ShardReader&& other) noexcept;
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const std::string& path() const { return path_; }
  int version() const { return version_; }
  size_t size() const { return count_; }  // tokens
  // tokens [begin, begin + n) as int32; throws DataError when out of range
  void read(size_t begin, size_t n, int32_t* out) const;
  // index of the first token >= limit, or size() when there is none
  size_t find_token_at_least(uint64_t limit) const;
  // where token `index` starts in the file
  static size_t byte_offset(int version, size_t index) { return kShardHeaderInts * 4 + index * (version == 1 ? 2 : 4); }

 private:
  void close();
  std::string path_;
  int version_ = 0;
  size_t count_ = 0;
  const unsigned char* map_ = nullptr;
  size_t map_bytes_ = 0;
};

}  // namespace merino

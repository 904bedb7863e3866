// manifest.json of a `merino prepare` output directory (schema in docs/DATA.md): the settings
// that produced the shards and, per finished shard, its name, split, size, sha256 and where in
// the inputs the next shard starts. It is rewritten atomically after every shard, so after a
// crash it lists exactly the shards that were finished, and a re-run resumes after them.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/piece_reader.h"

namespace merino {

constexpr int kManifestVersion = 1;

// Where the token stream continues after a shard: the piece that holds the next token, how
// many of that piece's tokens (end-of-text included) earlier shards already hold, and the
// documents completed before the piece.
struct ResumePoint {
  InputPosition at;
  uint64_t skip_tokens = 0;
  uint64_t documents = 0;
};

struct ShardRecord {
  std::string file;   // name inside the output directory
  std::string split;  // "train" or "val"
  uint64_t tokens = 0;
  int shard_version = 1;
  std::string sha256;
  ResumePoint next;
};

struct Manifest {
  nlohmann::json settings;  // tokenizer, sources, options: equal settings mean equal shards
  std::vector<ShardRecord> shards;
  bool complete = false;
  // totals over the finished shards' input (over all input once complete)
  uint64_t documents = 0, bad_lines = 0, filtered = 0;
};

nlohmann::json manifest_to_json(const Manifest& m);
Manifest manifest_from_json(const nlohmann::json& j);  // throws DataError on a wrong schema

// nullopt when the file does not exist; DataError naming it when it is unreadable or malformed.
std::optional<Manifest> read_manifest(const std::string& path);
void write_manifest(const std::string& path, const Manifest& m);  // atomically

}  // namespace merino

#include "data/manifest.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/errors.h"

namespace merino {
namespace {

using nlohmann::json;

json position_json(const ResumePoint& r) {
  return json{{"input", r.at.input},         {"offset", r.at.offset},       {"line", r.at.line},
              {"skip_tokens", r.skip_tokens}, {"documents", r.documents},     {"bad_lines", r.at.bad_lines},
              {"filtered", r.at.filtered}};
}

// json::at and get throw nlohmann exceptions with their own wording; these say which key.
const json& field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) throw DataError(std::string("missing key `") + key + "`");
  return j.at(key);
}
uint64_t count_field(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_number_unsigned()) throw DataError(std::string("`") + key + "` must be a non-negative integer");
  return v.get<uint64_t>();
}
std::string string_field(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_string()) throw DataError(std::string("`") + key + "` must be a string");
  return v.get<std::string>();
}

ResumePoint position_from_json(const json& j) {
  ResumePoint r;
  r.at.input = size_t(count_field(j, "input"));
  r.at.offset = count_field(j, "offset");
  r.at.line = count_field(j, "line");
  r.skip_tokens = count_field(j, "skip_tokens");
  r.documents = count_field(j, "documents");
  r.at.bad_lines = count_field(j, "bad_lines");
  r.at.filtered = count_field(j, "filtered");
  return r;
}

}  // namespace

json manifest_to_json(const Manifest& m) {
  json shards = json::array();
  uint64_t train = 0, val = 0;
  for (const ShardRecord& s : m.shards) {
    shards.push_back(json{{"file", s.file},
                          {"split", s.split},
                          {"tokens", s.tokens},
                          {"shard_version", s.shard_version},
                          {"sha256", s.sha256},
                          {"next", position_json(s.next)}});
    (s.split == "val" ? val : train) += s.tokens;
  }
  return json{{"format", "merino-token-shards"},
              {"manifest_version", kManifestVersion},
              {"complete", m.complete},
              {"settings", m.settings},
              {"totals",
               {{"train_tokens", train},
                {"val_tokens", val},
                {"documents", m.documents},
                {"bad_lines_skipped", m.bad_lines},
                {"filtered_out", m.filtered}}},
              {"shards", shards}};
}

Manifest manifest_from_json(const json& j) {
  if (string_field(j, "format") != "merino-token-shards") throw DataError("not a merino shard manifest");
  if (count_field(j, "manifest_version") != uint64_t(kManifestVersion))
    throw DataError("manifest_version " + field(j, "manifest_version").dump() + " is not supported (this build reads " +
                    std::to_string(kManifestVersion) + ")");
  Manifest m;
  const json& complete = field(j, "complete");
  if (!complete.is_boolean()) throw DataError("`complete` must be true or false");
  m.complete = complete.get<bool>();
  m.settings = field(j, "settings");
  const json& totals = field(j, "totals");
  m.documents = count_field(totals, "documents");
  m.bad_lines = count_field(totals, "bad_lines_skipped");
  m.filtered = count_field(totals, "filtered_out");
  const json& shards = field(j, "shards");
  if (!shards.is_array()) throw DataError("`shards` must be an array");
  for (const json& s : shards) {
    ShardRecord r;
    r.file = string_field(s, "file");
    r.split = string_field(s, "split");
    r.tokens = count_field(s, "tokens");
    r.shard_version = int(count_field(s, "shard_version"));
    r.sha256 = string_field(s, "sha256");
    r.next = position_from_json(field(s, "next"));
    // The name is joined to the output directory: it must not lead outside it.
    if (r.file.empty() || r.file.find('/') != std::string::npos || r.file[0] == '.')
      throw DataError("shard file name `" + r.file + "` is not a plain file name");
    m.shards.push_back(std::move(r));
  }
  return m;
}

std::optional<Manifest> read_manifest(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) throw DataError(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return manifest_from_json(json::parse(text.str()));
  } catch (const json::exception& e) {
    throw DataError(path + ": malformed manifest: " + e.what());
  } catch (const DataError& e) {
    throw DataError(path + ": " + e.what());
  }
}

void write_manifest(const std::string& path, const Manifest& m) {
  write_file_atomically(path, manifest_to_json(m).dump(2) + "\n");
}

}  // namespace merino

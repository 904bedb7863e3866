#include "data/data_paths.h"

#include <cstdlib>
#include <filesystem>

#include "base/errors.h"
#include "data/fetch_manifest.h"

namespace merino {
namespace {

namespace fs = std::filesystem;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// $MERINO_SHARED_DATA set but empty switches the level off (tests that need a clean lookup).
std::string shared_data_dir() {
  if (const char* v = std::getenv("MERINO_SHARED_DATA")) return v;
  return MERINO_DEFAULT_SHARED_DATA;
}

std::string default_cache_dir() {
  const std::string home = env_or_empty("HOME");
  return home.empty() ? "" : (fs::path(home) / ".cache" / "merino").string();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

std::vector<DataRoot> data_roots(const std::string& data_dir_flag) {
  const std::vector<DataRoot> candidates = {{data_dir_flag, "--data-dir"},
                                            {env_or_empty("MERINO_DATA"), "$MERINO_DATA"},
                                            {MERINO_COMMITTED_DATA, "committed"},
                                            {default_cache_dir(), "fetch cache"},
                                            {shared_data_dir(), "MERINO_SHARED_DATA"}};
  std::vector<DataRoot> roots;
  for (const DataRoot& c : candidates) {
    if (c.dir.empty()) continue;
    const fs::path normal = fs::absolute(c.dir).lexically_normal();
    bool repeated = false;
    for (const DataRoot& r : roots) repeated = repeated || fs::absolute(r.dir).lexically_normal() == normal;
    if (!repeated) roots.push_back(c);
  }
  return roots;
}

std::string fetch_cache_dir() {
  const std::string env = env_or_empty("MERINO_DATA");
  return env.empty() ? default_cache_dir() : env;
}

std::optional<std::string> find_data_file(const std::string& relative, const std::string& data_dir_flag) {
  for (const DataRoot& root : data_roots(data_dir_flag)) {
    const fs::path p = fs::path(root.dir) / relative;
    if (is_file(p)) return p.string();
  }
  return std::nullopt;
}

std::string require_data_file(const std::string& relative, const std::string& data_dir_flag) {
  if (std::optional<std::string> found = find_data_file(relative, data_dir_flag)) return *found;
  std::string looked;
  for (const DataRoot& root : data_roots(data_dir_flag)) looked += (looked.empty() ? "" : ", ") + root.dir;
  throw DataError(relative + ": not found in " + (looked.empty() ? "any data directory" : looked) + "; " +
                  data_file_hint(relative) + " (docs/DATA.md)");
}

std::string data_file_hint(const std::string& relative) {
  if (const FetchDataset* d = dataset_for_path(relative)) return "run `merino fetch " + d->name + "`";
  return "it belongs to the committed datasets/ of merino's source tree (" MERINO_COMMITTED_DATA
         "); restore it with `git checkout -- datasets`";
}

}  // namespace merino

// What `merino fetch` can get: datasets/fetch.json, compiled into the binary so that it needs
// no source tree. Each dataset lists its files by their path in a data root (data_paths.h),
// the public release URL and the sha256 every copy must have.
#pragma once
#include <string>
#include <vector>

namespace merino {

struct FetchFile {
  std::string path;    // in the data root, e.g. "wikitext-2-raw/wiki.test.raw"
  std::string sha256;  // of the file itself
  std::string url;     // its public release: the file, or a zip holding it
  std::string zip_sha256, zip_member;  // set when `url` is a zip: its sha256 and the member
};

struct FetchDataset {
  std::string name;   // what `merino fetch NAME` takes
  std::string group;  // a second name for several datasets at once ("zero-shot"), or ""
  std::string about;  // one line: what it is and its license
  std::vector<FetchFile> files;
};

// Parses a manifest; throws DataError naming `source` and the problem.
std::vector<FetchDataset> parse_fetch_manifest(const std::string& json_text, const std::string& source);

// The manifest built into this binary.
const std::vector<FetchDataset>& fetch_manifest();

// The datasets NAME... select (dataset or group names), in manifest order and each once;
// throws DataError naming an unknown name and listing the known ones.
std::vector<FetchDataset> select_datasets(const std::vector<std::string>& names);

// The dataset that fetches `path`, or nullptr.
const FetchDataset* dataset_for_path(const std::string& path);

}  // namespace merino

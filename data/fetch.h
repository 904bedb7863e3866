// `merino fetch`: downloads the manifest's files (fetch_manifest.h) into a data root, verified.
// Each dataset is staged in a temporary directory inside the destination, every file checked
// against its sha256 (and a zip against the archive's) before any is renamed into place, so a
// failure leaves nothing behind; files already present with the right sha256 are not
// downloaded again. Downloads run `curl` (which also reads file:// URLs); zips are read with
// `unzip -p`.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/fetch_manifest.h"

namespace merino {

struct FetchOptions {
  std::string dest;    // the data root to fill (fetch_cache_dir() unless --data-dir)
  std::string mirror;  // URL prefix holding the files at their data-root paths, replacing the release URLs
};

// Thrown when a download or extraction fails (offline, a mirror without the file): exit code 1.
// A file that arrives with the wrong sha256 is bad input instead: DataError, exit code 2.
struct FetchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Fetches what is missing of `sets` into o.dest; `log` gets one line per file.
void fetch_datasets(const std::vector<FetchDataset>& sets, const FetchOptions& o,
                    const std::function<void(const std::string&)>& log);

}  // namespace merino

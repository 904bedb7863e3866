// Where data files are found: the one lookup order every reader uses (docs/DATA.md). A data
// root is a directory in the layout of datasets/ (tokenizers/gpt2/, ptb/, wikitext-2-raw/,
// zero-shot/...), and a file is named by its path inside a root. Roots, first match wins:
//   1. --data-dir (the command's flag, when given)
//   2. $MERINO_DATA
//   3. the committed copies: <source>/datasets
//   4. the fetch cache: ~/.cache/merino, where `merino fetch` writes when $MERINO_DATA is unset
//   5. MERINO_SHARED_DATA: the environment variable when set (empty: skipped), else the build's
//      CMake value, by default <source>/../shared/data (the developers' machines)
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace merino {

struct DataRoot {
  std::string dir;
  std::string origin;  // "--data-dir", "$MERINO_DATA", "committed", "fetch cache", "MERINO_SHARED_DATA"
};

// The roots in lookup order, empty and repeated ones left out.
std::vector<DataRoot> data_roots(const std::string& data_dir_flag = "");

// Where `merino fetch` writes: $MERINO_DATA, else ~/.cache/merino ("" when HOME is unset too).
std::string fetch_cache_dir();

// The first root's copy of `relative`, e.g. "wikitext-2-raw/wiki.test.raw".
std::optional<std::string> find_data_file(const std::string& relative, const std::string& data_dir_flag = "");

// As find_data_file, but a missing file throws DataError in one line: the file, the places
// looked in and what gets it ("run `merino fetch wikitext2`").
std::string require_data_file(const std::string& relative, const std::string& data_dir_flag = "");

// "run `merino fetch NAME`" for a fetchable file, else how to get a committed one back.
std::string data_file_hint(const std::string& relative);

}  // namespace merino

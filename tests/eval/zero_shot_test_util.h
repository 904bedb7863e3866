// Shared by the zero-shot tests: the GPT-2 tokenizer and the zero-shot data folder.
#pragma once
#include <filesystem>
#include <string>

#include "data/data_paths.h"
#include "data/tokenizer/tokenizer.h"
#include "eval_test_util.h"

namespace merino::test {

// The first data root (data/data_paths.h) holding the zero-shot task folders, or "" (fetched by
// `merino fetch zero-shot`; on our machines the shared data has them).
inline std::string zero_shot_root() {
  for (const DataRoot& r : data_roots())
    if (std::filesystem::is_directory(r.dir + "/zero-shot/boolq")) return r.dir;
  return "";
}
inline const std::string kZeroShotRoot = zero_shot_root();
inline const std::string kZeroShotData = kZeroShotRoot + "/zero-shot";

// The GPT-2 tokenizer's folder (committed: datasets/tokenizers/gpt2).
inline const std::string kGpt2Dir =
    std::filesystem::path(require_data_file("tokenizers/gpt2/encoder.json")).parent_path().string();

inline const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::load_gpt2(kGpt2Dir + "/encoder.json", kGpt2Dir + "/vocab.bpe");
  return t;
}

inline bool zero_shot_data_here() { return !kZeroShotRoot.empty(); }

}  // namespace merino::test

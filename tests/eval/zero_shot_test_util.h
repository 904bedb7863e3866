// Shared by the zero-shot tests: the GPT-2 tokenizer and the zero-shot data folder.
#pragma once
#include <filesystem>
#include <string>

#include "data/tokenizer.h"
#include "eval_test_util.h"

namespace merino::test {

inline const std::string kZeroShotData = kSharedData + "/zero-shot";

inline const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::load_gpt2(kTokenizerDir + "/gpt2/encoder.json", kTokenizerDir + "/gpt2/vocab.bpe");
  return t;
}

inline bool zero_shot_data_here() { return std::filesystem::is_directory(kZeroShotData + "/boolq"); }

}  // namespace merino::test

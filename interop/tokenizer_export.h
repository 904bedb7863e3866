// Which tokenizer files go beside an exported model, under the names HF expects: GPT-2's
// encoder.json + vocab.bpe become vocab.json + merges.txt (the same bytes), a tokenizer.json
// is copied with its tokenizer_config.json when it has one.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "interop/hf_config.h"

namespace merino::interop {

struct TokenizerExport {
  std::string spec;                                         // as `--tokenizer` takes it
  std::vector<std::pair<std::string, std::string>> copies;  // source path -> file name in DIR
  nlohmann::json tokenizer_config;                          // written when no copy provides it
  SpecialTokens tokens;
};

// `spec`: gpt2, neox, llama2 or a path, found as data/tokenizer/named_tokenizer.h finds it.
// DataError naming the file when it cannot be loaded.
TokenizerExport tokenizer_export(const std::string& spec, const std::string& data_dir, int context_length);

// The tokenizer of a checkpoint, as a `--tokenizer` spec: the one its data was prepared with
// (config.yaml's data.dir, then that directory's manifest.json, settings.tokenizer.name), else
// the checkpoint directory itself when it holds tokenizer files (`merino import` keeps a Hugging
// Face directory's there). Empty when neither is available.
std::string tokenizer_of_checkpoint(const std::string& checkpoint_dir, const std::string& config_yaml);

}  // namespace merino::interop

// Tokenizers by name, as `merino prepare --tokenizer` takes them: "gpt2" (encoder.json +
// vocab.bpe under DIR/gpt2), "neox" (DIR/neox-20b/tokenizer.json), "llama2"
// (DIR/llama2/tokenizer.json, byte-fallback BPE), or a path: a directory
// holding either of those layouts, or an HF tokenizer.json file. DIR is --tokenizer-dir, else
// $MERINO_TOKENIZERS, else the build's default <source>/../shared/data/tokenizers.
#pragma once
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace merino {

struct NamedTokenizer {
  Tokenizer tokenizer;
  std::string name;                // "gpt2", "neox", or the path as given
  std::vector<std::string> files;  // what was loaded
};

std::string default_tokenizer_dir();

// Throws DataError naming the file when the tokenizer cannot be found or loaded.
NamedTokenizer load_named_tokenizer(const std::string& spec, const std::string& dir);

}  // namespace merino

// Tokenizers by name, as `merino prepare --tokenizer` takes them: "gpt2" (tokenizers/gpt2/
// encoder.json + vocab.bpe), "neox" (tokenizers/neox-20b/tokenizer.json) and "llama2"
// (tokenizers/llama2/tokenizer.json, byte-fallback BPE), found through the
// data lookup (data_paths.h: --data-dir, $MERINO_DATA, datasets/, the fetch cache, the shared
// data), or a path: a directory holding either of those layouts, or an HF tokenizer.json file.
#pragma once
#include <string>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace merino {

struct NamedTokenizer {
  Tokenizer tokenizer;
  std::string name;                // "gpt2", "neox", or the path as given
  std::vector<std::string> files;  // what was loaded
};

// Throws DataError naming the file when the tokenizer cannot be found or loaded; a missing
// named one says which `merino fetch` gets it. `data_dir` is the command's --data-dir, or "".
NamedTokenizer load_named_tokenizer(const std::string& spec, const std::string& data_dir = "");

}  // namespace merino

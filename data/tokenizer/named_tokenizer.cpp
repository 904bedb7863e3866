#include "data/tokenizer/named_tokenizer.h"

#include <filesystem>
#include <stdexcept>

#include "base/errors.h"
#include "data/data_paths.h"

namespace merino {
namespace {

namespace fs = std::filesystem;

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

NamedTokenizer load_gpt2_dir(const std::string& name, const fs::path& dir) {
  const std::string encoder = (dir / "encoder.json").string(), merges = (dir / "vocab.bpe").string();
  return NamedTokenizer{Tokenizer::load_gpt2(encoder, merges), name, {encoder, merges}};
}

NamedTokenizer load_hf(const std::string& name, const fs::path& file) {
  return NamedTokenizer{Tokenizer::load_hf_json(file.string()), name, {file.string()}};
}

NamedTokenizer load(const std::string& spec, const std::string& data_dir) {
  if (spec == "gpt2")
    return load_gpt2_dir(spec, fs::path(require_data_file("tokenizers/gpt2/encoder.json", data_dir)).parent_path());
  if (spec == "neox") return load_hf(spec, require_data_file("tokenizers/neox-20b/tokenizer.json", data_dir));
  if (spec == "llama2") return load_hf(spec, require_data_file("tokenizers/llama2/tokenizer.json", data_dir));
  const fs::path path(spec);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (file_exists(path / "encoder.json")) return load_gpt2_dir(spec, path);
    if (file_exists(path / "tokenizer.json")) return load_hf(spec, path / "tokenizer.json");
    throw DataError(spec + ": directory holds neither encoder.json + vocab.bpe nor tokenizer.json");
  }
  if (file_exists(path)) return load_hf(spec, path);
  throw DataError(spec + ": no such tokenizer (expected gpt2, neox, llama2, a directory or a tokenizer.json)");
}

}  // namespace

NamedTokenizer load_named_tokenizer(const std::string& spec, const std::string& data_dir) {
  try {
    return load(spec, data_dir);
  } catch (const DataError&) {
    throw;
  } catch (const std::runtime_error& e) {
    // The loaders' messages name the file; a missing or broken tokenizer file is bad input.
    throw DataError(e.what());
  }
}

}  // namespace merino

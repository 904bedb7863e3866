#include "interop/tokenizer_export.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "data/manifest.h"
#include "data/tokenizer/named_tokenizer.h"

namespace merino::interop {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// bos/eos from a tokenizer.json's added tokens: GPT-style <|endoftext|> is both, LLaMA-style
// <s> and </s> are one each
SpecialTokens special_tokens_of(const std::string& tokenizer_json) {
  SpecialTokens t;
  std::ifstream in(tokenizer_json);
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("added_tokens") || !j["added_tokens"].is_array()) return t;
  for (const json& a : j["added_tokens"]) {
    const std::string content = a.value("content", "");
    const int id = a.value("id", -1);
    if (content == "<|endoftext|>") t.bos = t.eos = id;
    if (content == "<s>") t.bos = id;
    if (content == "</s>") t.eos = id;
  }
  return t;
}

}  // namespace

TokenizerExport tokenizer_export(const std::string& spec, const std::string& data_dir, int context_length) {
  const NamedTokenizer named = load_named_tokenizer(spec, data_dir);
  TokenizerExport out;
  out.spec = spec;
  const fs::path first(named.files.front());
  if (first.filename() == "encoder.json") {
    out.copies = {{named.files[0], "vocab.json"}, {named.files[1], "merges.txt"}};
    const int eot = named.tokenizer.eot_token();
    out.tokens = {eot, eot};
    out.tokenizer_config = {{"tokenizer_class", "GPT2Tokenizer"},
                            {"model_max_length", context_length},
                            {"add_prefix_space", false},
                            {"bos_token", "<|endoftext|>"},
                            {"eos_token", "<|endoftext|>"},
                            {"unk_token", "<|endoftext|>"}};
    return out;
  }
  out.copies = {{named.files[0], "tokenizer.json"}};
  const fs::path config = first.parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (fs::exists(config, ec)) out.copies.push_back({config.string(), "tokenizer_config.json"});
  else out.tokenizer_config = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"model_max_length", context_length}};
  out.tokens = special_tokens_of(named.files[0]);
  return out;
}

namespace {

std::string tokenizer_of_run(const std::string& config_yaml) {
  try {
    const YAML::Node root = YAML::Load(config_yaml);
    if (!root["data"] || !root["data"]["dir"]) return "";
    const std::optional<Manifest> m = read_manifest(root["data"]["dir"].as<std::string>() + "/manifest.json");
    if (!m || !m->settings.contains("tokenizer")) return "";
    return m->settings["tokenizer"].value("name", "");
  } catch (const std::exception&) {
    return "";  // unknown: the caller decides (a default, or asking for --tokenizer)
  }
}

}  // namespace

std::string tokenizer_of_checkpoint(const std::string& checkpoint_dir, const std::string& config_yaml) {
  const std::string of_run = tokenizer_of_run(config_yaml);
  if (!of_run.empty()) return of_run;
  std::error_code ec;
  const fs::path dir(checkpoint_dir);
  if (fs::exists(dir / "tokenizer.json", ec) || fs::exists(dir / "encoder.json", ec)) return checkpoint_dir;
  return "";
}

}  // namespace merino::interop

// Shared helpers for the tokenizer tests: where the tokenizer files are (GPT-2's committed in
// datasets/, NeoX's fetched: docs/DATA.md), loading each tokenizer once per test binary (loading
// takes ~0.1 s), and scratch files for error tests.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/data_paths.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/nfc.h"
#include "data/tokenizer/tokenizer.h"

namespace merino::test {

inline std::string gpt2_dir() { return MERINO_SOURCE_DIR "/datasets/tokenizers/gpt2"; }
inline std::string neox_json() { return find_data_file("tokenizers/neox-20b/tokenizer.json").value_or(""); }

inline const Tokenizer* gpt2_tokenizer() {
  static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    if (!std::filesystem::exists(gpt2_dir() + "/encoder.json")) return nullptr;
    return std::make_unique<Tokenizer>(Tokenizer::load_gpt2(gpt2_dir() + "/encoder.json", gpt2_dir() + "/vocab.bpe"));
  }();
  return tok.get();
}

inline const Tokenizer* neox_tokenizer() {
  static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    if (neox_json().empty() || !tok::nfc_available()) return nullptr;
    return std::make_unique<Tokenizer>(Tokenizer::load_hf_json(neox_json()));
  }();
  return tok.get();
}

// Binds `var` to the tokenizer, or skips the test saying what is missing.
#define MERINO_GPT2_OR_SKIP(var)                                                              \
  const ::merino::Tokenizer* var = ::merino::test::gpt2_tokenizer();                          \
  if (!var) GTEST_SKIP() << "GPT-2 tokenizer files not found under " << ::merino::test::gpt2_dir() \
                         << " (they are committed: git checkout -- datasets)"

#define MERINO_NEOX_OR_SKIP(var)                                                                  \
  const ::merino::Tokenizer* var = ::merino::test::neox_tokenizer();                              \
  if (!var) GTEST_SKIP() << (::merino::tok::nfc_available()                                       \
                                 ? std::string("SKIPPED: run `merino fetch neox`")                 \
                                 : std::string("merino_data was built without ICU, so no NFC for NeoX"))

// A tiny but complete byte-level vocabulary: the 256 single-byte tokens (id = byte value),
// then one token per merge (id 256 + rank), with merges given as raw bytes. Both file formats.
struct MiniVocab {
  nlohmann::json encoder;  // encoder.json
  std::string vocab_bpe;
  nlohmann::json hf;  // an equivalent tokenizer.json
};

inline MiniVocab mini_vocab(const std::vector<std::pair<std::string, std::string>>& merges) {
  MiniVocab v;
  v.encoder = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) v.encoder[tok::bytes_to_symbols(std::string(1, static_cast<char>(b)))] = b;
  v.vocab_bpe = "#version: 0.2\n";
  nlohmann::json hf_merges = nlohmann::json::array();
  int id = 256;
  for (const auto& [l, r] : merges) {
    const std::string ls = tok::bytes_to_symbols(l), rs = tok::bytes_to_symbols(r);
    if (!v.encoder.contains(ls + rs)) v.encoder[ls + rs] = id++;
    v.vocab_bpe += ls + " " + rs + "\n";
    hf_merges.push_back(ls + " " + rs);
  }
  v.hf = {{"version", "1.0"},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", v.encoder}, {"merges", hf_merges}}}};
  return v;
}

// A fresh directory under the system temp dir, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("merino_tok_" + std::string(info ? info->name() : "x") + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace merino::test

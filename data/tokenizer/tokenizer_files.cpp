// Parsers for the two vocabulary formats: GPT-2's encoder.json + vocab.bpe and HF's
// tokenizer.json. They only read and check the files; TokenizerBuilder makes the tables. Every
// error names the file and what is wrong with it, since a bad path or a truncated download is
// the usual cause.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "data/tokenizer/tokenizer.h"
#include "data/tokenizer/tokenizer_builder.h"

namespace merino {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("merino tokenizer: '" + path + "': " + problem);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(path, "read error");
  return ss.str();
}

json parse_json(const std::string& path) {
  const std::string text = read_file(path);
  if (text.empty()) fail(path, "file is empty");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
}

// Adds a {token: id} object as the vocabulary. `where` names the object inside the file.
void add_vocab(tok::TokenizerBuilder& b, const json& vocab, const std::string& path, const std::string& where) {
  if (!vocab.is_object()) fail(path, where + " must be a JSON object mapping token strings to ids");
  if (vocab.empty()) fail(path, where + " is empty");
  for (const auto& [symbols, id] : vocab.items()) {
    if (!id.is_number_integer()) fail(path, where + ": the id of token \"" + symbols + "\" is not an integer");
    const int64_t value = id.is_number_unsigned() && id.get<uint64_t>() > uint64_t(INT64_MAX)
                              ? INT64_MAX
                              : id.get<int64_t>();
    if (std::string err = b.add_token(symbols, value); !err.empty()) fail(path, where + ": " + err);
  }
}

bool get_bool(const json& obj, const char* key, bool fallback) {
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? fallback : it->get<bool>();
}

// HF writes unused BPE options as null (or an empty string); anything else changes the output.
bool option_set(const json& model, const char* key) {
  const auto it = model.find(key);
  if (it == model.end() || it->is_null()) return false;
  if (it->is_string()) return !it->get<std::string>().empty();
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0.0;
  return true;
}

std::string type_of(const json& obj) {
  const auto it = obj.find("type");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string("(no type)");
}

}  // namespace

Tokenizer Tokenizer::load_gpt2(const std::string& encoder_json_path, const std::string& vocab_bpe_path) {
  tok::TokenizerBuilder b;
  const json encoder = parse_json(encoder_json_path);
  add_vocab(b, encoder, encoder_json_path, "the top-level object");

  // vocab.bpe: an optional "#version" line, then one "left right" merge per line in rank order.
  const std::string text = read_file(vocab_bpe_path);
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      fail(vocab_bpe_path, "line " + std::to_string(line_no) + ": expected two tokens separated by one space, got \"" +
                               std::string(line.substr(0, 60)) + "\"");
    }
    if (std::string err = b.add_merge(line.substr(0, space), line.substr(space + 1)); !err.empty()) {
      fail(vocab_bpe_path, "line " + std::to_string(line_no) + ": " + err + " (vocabulary: '" + encoder_json_path + "')");
    }
  }
  if (b.merge_count() == 0) fail(vocab_bpe_path, "contains no merges");

  if (const auto eot = encoder.find("<|endoftext|>"); eot != encoder.end()) {
    tok::AddedToken t;
    t.content = "<|endoftext|>";
    t.id = eot->get<int32_t>();  // range-checked by add_vocab above
    t.special = true;
    if (std::string err = b.add_added_token(t); !err.empty()) fail(encoder_json_path, err);
  }
  return Tokenizer(b.build("'" + encoder_json_path + "' + '" + vocab_bpe_path + "'"));
}

namespace {

// LLaMA-2 / Mistral: normalizer Prepend "▁" + Replace " " -> "▁", no pre-tokenizer, decoder
// Replace "▁" -> " ", ByteFallback, Fuse, Strip one leading space. Anything else around a
// byte-fallback model is refused by name rather than approximated.
void check_byte_fallback_pipeline(const json& root, const std::string& path) {
  const std::string mark = "\xE2\x96\x81";
  const json kNull;
  auto steps = [&](const char* key, const char* list) {
    const json& j = root.contains(key) ? root[key] : kNull;
    if (j.is_object() && type_of(j) == "Sequence" && j.contains(list) && j[list].is_array()) return j[list];
    return json::array({j});
  };
  auto is_replace = [&](const json& j, const std::string& from, const std::string& to) {
    return j.is_object() && type_of(j) == "Replace" && j.contains("pattern") && j["pattern"].is_object() &&
           j["pattern"].value("String", "") == from && j.value("content", "") == to;
  };
  const json norm = steps("normalizer", "normalizers");
  if (!(norm.size() == 2 && norm[0].is_object() && type_of(norm[0]) == "Prepend" &&
        norm[0].value("prepend", "") == mark && is_replace(norm[1], " ", mark)))
    fail(path, "byte_fallback is supported with the normalizer Prepend \"" + mark + "\" + Replace \" \" -> \"" +
                   mark + "\" only (LLaMA-2 style)");
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null())
    fail(path, "byte_fallback is supported without a pre_tokenizer only (LLaMA-2 style)");
  const json dec = steps("decoder", "decoders");
  if (!(dec.size() == 4 && is_replace(dec[0], mark, " ") && dec[1].is_object() && type_of(dec[1]) == "ByteFallback" &&
        dec[2].is_object() && type_of(dec[2]) == "Fuse" && dec[3].is_object() && type_of(dec[3]) == "Strip" &&
        dec[3].value("content", "") == " " && dec[3].value("start", -1) == 1 && dec[3].value("stop", -1) == 0))
    fail(path, "byte_fallback is supported with the decoder Replace, ByteFallback, Fuse, Strip only (LLaMA-2 style)");
}

}  // namespace

Tokenizer Tokenizer::load_hf_json(const std::string& path) {
  const json root = parse_json(path);
  if (!root.is_object()) fail(path, "the top level must be a JSON object");
  tok::TokenizerBuilder b;
  try {
    const auto model = root.find("model");
    if (model == root.end() || !model->is_object()) fail(path, "has no \"model\" object");
    if (model->contains("type") && type_of(*model) != "BPE") {
      fail(path, "model type " + type_of(*model) + " is not supported (only byte-level BPE)");
    }
    for (const char* opt : {"dropout", "continuing_subword_prefix", "end_of_word_suffix", "ignore_merges"}) {
      if (option_set(*model, opt)) fail(path, std::string("model.") + opt + " is set, which is not supported");
    }
    const bool byte_fallback = option_set(*model, "byte_fallback");
    static const json kMissing;
    add_vocab(b, model->contains("vocab") ? model->at("vocab") : kMissing, path, "model.vocab");

    const auto merges = model->find("merges");
    if (merges == model->end() || !merges->is_array()) fail(path, "model.merges must be an array");
    for (size_t i = 0; i < merges->size(); ++i) {
      const json& m = (*merges)[i];
      std::string left, right;
      if (m.is_string()) {  // "left right" (older format)
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == s.size() || s.find(' ', space + 1) != std::string::npos) {
          fail(path, "model.merges[" + std::to_string(i) + "]: expected two tokens separated by one space");
        }
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
        left = m[0].get<std::string>();
        right = m[1].get<std::string>();
      } else {
        fail(path, "model.merges[" + std::to_string(i) + "]: expected \"left right\" or [\"left\", \"right\"]");
      }
      if (std::string err = b.add_merge(left, right); !err.empty()) {
        fail(path, "model.merges[" + std::to_string(i) + "]: " + err);
      }
    }
    if (b.merge_count() == 0) fail(path, "model.merges is empty");

    const json normalizer = root.value("normalizer", json());
    if (byte_fallback) {
      check_byte_fallback_pipeline(root, path);
      b.set_byte_fallback(true);
    } else if (normalizer.is_object() && type_of(normalizer) == "NFC") {
      b.set_nfc(true);
    } else if (!normalizer.is_null() &&
               !(normalizer.is_object() && type_of(normalizer) == "Sequence" && normalizer.value("normalizers", json::array()).empty())) {
      fail(path, "normalizer " + type_of(normalizer) + " is not supported (only none or NFC)");
    }

    const json pre = root.value("pre_tokenizer", json());
    if (byte_fallback) {
      // checked above with the normalizer and decoder
    } else if (!pre.is_object() || type_of(pre) != "ByteLevel") {
      fail(path, "pre_tokenizer " + (pre.is_object() ? type_of(pre) : std::string("(none)")) +
                     " is not supported (only ByteLevel)");
    }
    if (!byte_fallback && get_bool(pre, "add_prefix_space", true)) fail(path, "pre_tokenizer.add_prefix_space = true is not supported");
    if (!byte_fallback && !get_bool(pre, "use_regex", true)) fail(path, "pre_tokenizer.use_regex = false is not supported");

    const json decoder = root.value("decoder", json());
    if (!byte_fallback && !decoder.is_null() && type_of(decoder) != "ByteLevel") {
      fail(path, "decoder " + type_of(decoder) + " is not supported (only ByteLevel)");
    }
    // post_processor is ignored on purpose: encode() returns the text's tokens only, as HF does with
    // add_special_tokens=False (for NeoX's ByteLevel post-processor the two are the same anyway).

    const json added = root.value("added_tokens", json::array());
    if (!added.is_array()) fail(path, "added_tokens must be an array");
    for (size_t i = 0; i < added.size(); ++i) {
      const json& a = added[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!a.is_object() || !a.contains("id") || !a.contains("content")) fail(path, where + ": needs \"id\" and \"content\"");
      for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
        if (get_bool(a, flag, false)) fail(path, where + ": " + flag + " = true is not supported");
      }
      tok::AddedToken t;
      t.content = a.at("content").get<std::string>();
      const int64_t id = a.at("id").get<int64_t>();
      if (id < 0 || id > tok::TokenizerBuilder::kMaxId) fail(path, where + ": id " + std::to_string(id) + " is out of range");
      t.id = static_cast<int32_t>(id);
      t.special = get_bool(a, "special", false);
      t.normalized = get_bool(a, "normalized", !t.special);  // HF's default
      if (byte_fallback && t.normalized) fail(path, where + ": normalized = true is not supported with byte_fallback");
      if (std::string err = b.add_added_token(t); !err.empty()) fail(path, where + ": " + err);
    }
  } catch (const json::exception& e) {  // a field of the wrong JSON type
    fail(path, std::string("unexpected structure: ") + e.what());
  }
  return Tokenizer(b.build("'" + path + "'"));
}

}  // namespace merino

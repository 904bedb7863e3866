#include "data/tokenizer/tokenizer_builder.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/nfc.h"
#include "data/tokenizer/utf8.h"

namespace merino::tok {
namespace {

std::string quoted(std::string_view s) {
  constexpr size_t kMax = 60;  // keep messages readable when a file is badly broken
  std::string q = "\"";
  q.append(s.substr(0, kMax));
  if (s.size() > kMax) q += "...";
  return q + "\"";
}

}  // namespace

TokenizerBuilder::TokenizerBuilder() : impl_(new TokenizerImpl()) {}

std::string TokenizerBuilder::add_token(std::string_view symbols, int64_t id) {
  if (id < 0 || id > kMaxId) {
    return "token " + quoted(symbols) + " has id " + std::to_string(id) + ", outside 0.." + std::to_string(kMaxId);
  }
  if (symbols.empty()) return "token with id " + std::to_string(id) + " is an empty string";
  const auto [it, fresh] = id_symbols_.emplace(static_cast<int32_t>(id), symbols);
  if (!fresh) return "id " + std::to_string(id) + " is used by both " + quoted(it->second) + " and " + quoted(symbols);
  vocab_[std::string(symbols)] = static_cast<int32_t>(id);
  return "";
}

std::string TokenizerBuilder::add_merge(std::string_view left, std::string_view right) {
  const int32_t rank = rank_++;
  const std::string joined = std::string(left) + std::string(right);
  const std::string what = "merge " + quoted(std::string(left) + " " + std::string(right));
  const auto l = vocab_.find(std::string(left));
  if (l == vocab_.end()) return what + ": " + quoted(left) + " is not in the vocabulary";
  const auto r = vocab_.find(std::string(right));
  if (r == vocab_.end()) return what + ": " + quoted(right) + " is not in the vocabulary";
  const auto m = vocab_.find(joined);
  if (m == vocab_.end()) return what + ": its result " + quoted(joined) + " is not in the vocabulary";
  impl_->merges_.set(l->second, r->second, MergeTable::Rule{rank, m->second});
  return "";
}

std::string TokenizerBuilder::add_added_token(AddedToken token) {
  if (token.id < 0 || token.id > kMaxId) {
    return "added token " + quoted(token.content) + " has id " + std::to_string(token.id) + ", outside 0.." +
           std::to_string(kMaxId);
  }
  if (token.content.empty()) return "added token with id " + std::to_string(token.id) + " has empty content";
  for (const AddedToken& t : added_) {
    if (t.id == token.id) return "added token id " + std::to_string(token.id) + " appears twice";
  }
  added_.push_back(std::move(token));
  return "";
}

std::shared_ptr<const TokenizerImpl> TokenizerBuilder::build(const std::string& source) {
  auto fail = [&](const std::string& problem) {
    throw std::runtime_error("merino tokenizer: " + source + ": " + problem);
  };
  if (nfc_ && !nfc_available()) {
    fail("declares an NFC normalizer, but merino was built without ICU, which it needs for NFC");
  }
  TokenizerImpl& t = *impl_;
  int32_t size = 0;
  for (const auto& [id, sym] : id_symbols_) size = std::max(size, id + 1);
  for (const AddedToken& a : added_) size = std::max(size, a.id + 1);
  std::vector<std::string> bytes(size);
  t.present_.assign(size, 0);
  for (const AddedToken& a : added_) {
    bytes[a.id] = a.content;
    t.present_[a.id] = 1;
  }
  if (byte_fallback_) build_byte_fallback(source, bytes);
  else build_byte_level(source, bytes);
  t.offsets_.assign(size + 1, 0);
  for (int32_t i = 0; i < size; ++i) {
    t.offsets_[i] = static_cast<uint32_t>(t.bytes_.size());
    t.bytes_ += bytes[i];
  }
  t.offsets_[size] = static_cast<uint32_t>(t.bytes_.size());

  // Added-token matchers, one set per allow_special setting. "normalized" tokens are matched
  // after normalisation, so their content is normalised too (HF does the same).
  for (const AddedToken& a : added_) {
    std::string content = a.content;
    if (a.normalized && nfc_) {
      std::string n;
      nfc_normalize(content, n);
      content = n;
    }
    for (int allow = 0; allow < 2; ++allow) {
      if (a.special && !allow) continue;
      (a.normalized ? t.normalized_added_ : t.raw_added_)[allow].add(content, a.id);
    }
    if (a.content == "<|endoftext|>") t.eot_ = a.id;
    if (a.content == "</s>" && t.eot_ < 0) t.eot_ = a.id;  // LLaMA-style end of sequence
  }
  t.nfc_ = nfc_;
  t.byte_fallback_ = byte_fallback_;
  return std::shared_ptr<const TokenizerImpl>(impl_.release());
}

void TokenizerBuilder::build_byte_fallback(const std::string& source, std::vector<std::string>& bytes) {
  TokenizerImpl& t = *impl_;
  auto fail = [&](const std::string& problem) {
    throw std::runtime_error("merino tokenizer: " + source + ": " + problem);
  };
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto it = vocab_.find(name);
    if (it == vocab_.end()) fail(std::string("byte_fallback is set but the vocabulary has no token ") + name);
    t.byte_token_[b] = it->second;
  }
  const std::string space = "\xE2\x96\x81";  // U+2581 "▁"
  t.split_at_marks_ = true;
  for (const auto& [sym, id] : vocab_)
    for (size_t at = sym.find(space, 1); at != std::string::npos && t.split_at_marks_; at = sym.find(space, at + 1))
      t.split_at_marks_ = at >= space.size() && sym.compare(at - space.size(), space.size(), space) == 0;
  t.bmp_token_.assign(0x10000, -1);
  for (const auto& [sym, id] : vocab_) {
    uint32_t cp = 0;
    if (utf8_decode(reinterpret_cast<const unsigned char*>(sym.data()), sym.size(), cp) != sym.size()) continue;
    if (cp < 0x10000) t.bmp_token_[cp] = id;
    else t.astral_token_[cp] = id;
  }
  for (const auto& [id, sym] : id_symbols_) {
    if (t.present_[id]) continue;
    unsigned byte = 0;
    if (sym.size() == 6 && std::sscanf(sym.c_str(), "<0x%2X>", &byte) == 1) {
      bytes[id] = std::string(1, static_cast<char>(byte));
    } else {  // the decoder's Replace "▁" -> " "
      for (size_t pos = 0; pos < sym.size();) {
        if (sym.compare(pos, space.size(), space) == 0) {
          bytes[id] += ' ';
          pos += space.size();
        } else {
          bytes[id] += sym[pos++];
        }
      }
    }
    t.present_[id] = 1;
  }
}

void TokenizerBuilder::build_byte_level(const std::string& source, std::vector<std::string>& bytes) {
  TokenizerImpl& t = *impl_;
  auto fail = [&](const std::string& problem) {
    throw std::runtime_error("merino tokenizer: " + source + ": " + problem);
  };
  // Every byte that can occur in UTF-8 text needs a single-byte token. Vocabularies trained only
  // on valid UTF-8 may lack the 13 bytes that never occur there (C0, C1, F5..FF; NeoX-20B does);
  // encode() then writes U+FFFD for such a byte, the usual lossy-decoding substitute.
  for (int b = 0; b < 256; ++b) {
    const std::string sym = bytes_to_symbols(std::string(1, static_cast<char>(b)));
    const auto it = vocab_.find(sym);
    if (it != vocab_.end()) {
      t.byte_token_[b] = it->second;
    } else if (b == 0xC0 || b == 0xC1 || b >= 0xF5) {
      t.byte_token_[b] = -1;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      fail(std::string("the vocabulary has no token for byte ") + hex + " (spelled " + quoted(sym) + ")");
    }
  }
  BpeScratch scratch;
  bpe_merge("\xEF\xBF\xBD", t.byte_token_, t.merges_, scratch, t.replacement_ids_);

  // Decode table: added tokens decode to their content (already there), vocabulary entries to
  // their bytes.
  for (const auto& [id, sym] : id_symbols_) {
    if (t.present_[id]) continue;
    if (!symbols_to_bytes(sym, bytes[id])) {
      fail("token " + quoted(sym) + " (id " + std::to_string(id) +
           ") has a character outside GPT-2's byte-level alphabet");
    }
    t.present_[id] = 1;
  }
}

}  // namespace merino::tok

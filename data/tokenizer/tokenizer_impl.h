// The immutable tables behind merino::Tokenizer and the encoding pipeline that uses them:
//
//   text -> split on added tokens (raw text)
//        -> split into well-formed UTF-8 runs; other bytes become single-byte tokens
//        -> NFC (only if the tokenizer declares it) -> split on "normalized" added tokens
//        -> GPT-2 pattern pieces -> word cache or BPE merge -> ids
//
// That order is HF tokenizers' (AddedVocabulary splits, normalizer, pre-tokenizer, model); for
// GPT-2 the normalisation steps are absent and it reduces to tiktoken's special-token split
// followed by the regex and BPE.
//
// Byte-fallback BPE (LLaMA-2 / Mistral style tokenizer.json) takes a second path after the
// added-token split: each segment gets "▁" prepended and its spaces replaced by "▁" (the
// Prepend + Replace normalizer), then the whole segment is one BPE word whose base symbols are
// characters; a character outside the vocabulary becomes its UTF-8 bytes' <0xXX> tokens.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer/added_tokens.h"
#include "data/tokenizer/bpe_merge.h"
#include "data/tokenizer/pretokenizer.h"
#include "data/tokenizer/word_cache.h"

namespace merino::tok {

class TokenizerImpl {
 public:
  // Mutable per-thread state: PCRE2 match data, BPE buffers, the word cache.
  struct Context {
    explicit Context(const TokenizerImpl& t) : pre(t.pretokenizer_) {}
    Pretokenizer::Scratch pre;
    BpeScratch bpe;
    WordCache cache;
    std::vector<Pretokenizer::Span> spans;
    std::string normalized;
  };

  // Appends the ids of text to out.
  void encode(std::string_view text, bool allow_special, Context& ctx, std::vector<int32_t>& out) const;

  bool has_token(int32_t id) const { return id >= 0 && id < vocab_size() && present_[id]; }
  std::string_view token_bytes(int32_t id) const {  // id must satisfy has_token
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  int32_t vocab_size() const { return static_cast<int32_t>(present_.size()); }
  int32_t eot_token() const { return eot_; }
  // the byte-fallback decoder's Strip: one space (the prepended "▁") is dropped at the start
  bool strips_leading_space() const { return byte_fallback_; }

 private:
  friend class TokenizerBuilder;
  void encode_segment(std::string_view seg, bool allow_special, Context& ctx, std::vector<int32_t>& out) const;
  void encode_pieces(std::string_view text, Context& ctx, std::vector<int32_t>& out) const;
  void encode_byte_fallback(std::string_view seg, Context& ctx, std::vector<int32_t>& out) const;
  void merge_word(std::string_view word, Context& ctx, std::vector<int32_t>& out) const;  // normalized text
  int32_t char_token(uint32_t cp) const;  // -1: not in the vocabulary

  Pretokenizer pretokenizer_;
  MergeTable merges_;
  int32_t byte_token_[256] = {};  // -1: no token for this byte (never in UTF-8 text)
  std::vector<int32_t> replacement_ids_;  // U+FFFD, written for a byte without a token
  // Decode table: bytes of id i are bytes_[offsets_[i], offsets_[i+1]); holes have present_ 0.
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<uint8_t> present_;
  // Added tokens, indexed by allow_special: matched on the raw text / after normalisation.
  LiteralMatcher raw_added_[2], normalized_added_[2];
  bool nfc_ = false;
  int32_t eot_ = -1;
  // byte-fallback BPE: byte_token_ holds the <0xXX> ids; single-character tokens by code point
  bool byte_fallback_ = false;
  bool split_at_marks_ = false;            // no token has "▁" after another character
  std::vector<int32_t> bmp_token_;         // U+0000..U+FFFF, -1 where none
  std::unordered_map<uint32_t, int32_t> astral_token_;
};

}  // namespace merino::tok

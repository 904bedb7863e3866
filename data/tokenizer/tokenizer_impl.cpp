#include "data/tokenizer/tokenizer_impl.h"

#include "data/tokenizer/nfc.h"
#include "data/tokenizer/utf8.h"

#include <cstdint>

namespace merino::tok {

void TokenizerImpl::encode(std::string_view text, bool allow_special, Context& ctx,
                           std::vector<int32_t>& out) const {
  split_on_literals(
      text, raw_added_[allow_special],
      [&](std::string_view seg) {
        if (byte_fallback_) encode_byte_fallback(seg, ctx, out);
        else encode_segment(seg, allow_special, ctx, out);
      },
      [&](int32_t id) { out.push_back(id); });
}

int32_t TokenizerImpl::char_token(uint32_t cp) const {
  if (cp < bmp_token_.size()) return bmp_token_[cp];
  const auto it = astral_token_.find(cp);
  return it == astral_token_.end() ? -1 : it->second;
}

namespace {
constexpr std::string_view kMark = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space
}  // namespace

void TokenizerImpl::encode_byte_fallback(std::string_view seg, Context& ctx, std::vector<int32_t>& out) const {
  if (seg.empty()) return;  // HF's Prepend leaves an empty segment empty
  std::string& text = ctx.normalized;  // the normalizer: "▁" prepended, each space made "▁"
  text.assign(kMark);
  for (const char c : seg) {
    if (c == ' ') text += kMark;
    else text += c;
  }
  if (!split_at_marks_) return merge_word(text, ctx, out);
  // No token spells a character followed by "▁", so no merge crosses the start of a "▁" run
  // that follows another character: the runs merge independently (merges in disjoint parts
  // commute), and the word cache serves the frequent ones.
  size_t begin = 0;
  for (size_t at = text.find(kMark, kMark.size()); at != std::string::npos; at = text.find(kMark, at + kMark.size())) {
    if (text.compare(at - kMark.size(), kMark.size(), kMark) == 0) continue;  // inside a run of "▁"
    merge_word(std::string_view(text).substr(begin, at - begin), ctx, out);
    begin = at;
  }
  merge_word(std::string_view(text).substr(begin), ctx, out);
}

void TokenizerImpl::merge_word(std::string_view word, Context& ctx, std::vector<int32_t>& out) const {
  if (ctx.cache.lookup(word, out)) return;
  std::vector<int32_t>& ids = ctx.bpe.id;
  ids.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(word.data());
  for (size_t pos = 0; pos < word.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_decode(s + pos, word.size() - pos, cp);
    if (len == 0) {  // not UTF-8 (the references cannot be given it): its byte token
      ids.push_back(byte_token_[s[pos++]]);
      continue;
    }
    if (const int32_t id = char_token(cp); id >= 0) {
      ids.push_back(id);
    } else {  // byte fallback: the character's UTF-8 bytes as <0xXX> tokens
      for (size_t k = 0; k < len; ++k) ids.push_back(byte_token_[s[pos + k]]);
    }
    pos += len;
  }
  const size_t first = out.size();
  bpe_merge_symbols(ctx.bpe, merges_, out);
  ctx.cache.insert(word, out.data() + first, out.size() - first);
}

void TokenizerImpl::encode_segment(std::string_view seg, bool allow_special, Context& ctx,
                                   std::vector<int32_t>& out) const {
  size_t pos = 0;
  while (pos < seg.size()) {
    const size_t valid = utf8_valid_prefix(seg.substr(pos));
    if (valid == 0) {
      // A byte that does not start a well-formed UTF-8 sequence: a piece of its own. Nothing in
      // the regex can match it, and one byte has exactly one BPE result, so this is the only
      // choice that keeps the valid text around it tokenised as the references do.
      const int32_t id = byte_token_[static_cast<unsigned char>(seg[pos])];
      if (id >= 0) {
        out.push_back(id);
      } else {
        out.insert(out.end(), replacement_ids_.begin(), replacement_ids_.end());
      }
      ++pos;
      continue;
    }
    std::string_view run = seg.substr(pos, valid);
    pos += valid;
    if (nfc_ && !trivially_nfc(run)) {
      nfc_normalize(run, ctx.normalized);
      run = ctx.normalized;
    }
    split_on_literals(
        run, normalized_added_[allow_special], [&](std::string_view t) { encode_pieces(t, ctx, out); },
        [&](int32_t id) { out.push_back(id); });
  }
}

void TokenizerImpl::encode_pieces(std::string_view text, Context& ctx, std::vector<int32_t>& out) const {
  pretokenizer_.split(text, ctx.pre, ctx.spans);
  for (const auto& [begin, end] : ctx.spans) {
    const std::string_view piece = text.substr(begin, end - begin);
    if (piece.size() == 1) {  // one byte is one token: cheaper than the cache
      out.push_back(byte_token_[static_cast<unsigned char>(piece[0])]);
      continue;
    }
    if (ctx.cache.lookup(piece, out)) continue;
    const size_t first = out.size();
    bpe_merge(piece, byte_token_, merges_, ctx.bpe, out);
    ctx.cache.insert(piece, out.data() + first, out.size() - first);
  }
}

}  // namespace merino::tok

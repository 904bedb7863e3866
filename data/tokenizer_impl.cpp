#include "data/tokenizer_impl.h"

#include "data/nfc.h"
#include "data/utf8.h"

namespace merino::tok {

void TokenizerImpl::encode(std::string_view text, bool allow_special, Context& ctx,
                           std::vector<int32_t>& out) const {
  split_on_literals(
      text, raw_added_[allow_special],
      [&](std::string_view seg) { encode_segment(seg, allow_special, ctx, out); },
      [&](int32_t id) { out.push_back(id); });
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

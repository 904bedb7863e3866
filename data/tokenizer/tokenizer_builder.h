// Assembles a TokenizerImpl from the contents of vocabulary files, checking everything the
// reference implementations would reject (unknown merge parts, missing byte tokens, duplicate
// ids). The file parsers (tokenizer_files.cpp) feed it; it returns problems as text and the
// parsers add which file and line they came from.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer/added_tokens.h"
#include "data/tokenizer/tokenizer_impl.h"

namespace merino::tok {

class TokenizerBuilder {
 public:
  static constexpr int64_t kMaxId = (int64_t{1} << 24) - 1;  // far above any real vocabulary

  TokenizerBuilder();

  // A vocabulary entry in byte-level spelling (encoder.json / model.vocab). Returns "" or the
  // problem.
  std::string add_token(std::string_view symbols, int64_t id);
  // The next merge rule in rank order, parts in byte-level spelling. A repeated pair takes the
  // later rank, as in encoder.py's dict and HF's HashMap.
  std::string add_merge(std::string_view left, std::string_view right);
  // content in raw text. Returns "" or the problem.
  std::string add_added_token(AddedToken token);
  void set_nfc(bool nfc) { nfc_ = nfc; }
  // Byte-fallback BPE: tokens are spelled as text with "▁" for a space and <0xXX> for a byte
  // (LLaMA-2 / Mistral), instead of GPT-2's byte-level alphabet.
  void set_byte_fallback(bool on) { byte_fallback_ = on; }

  size_t merge_count() const { return rank_; }
  // Finishes the tables; throws std::runtime_error prefixed with `source` on a problem that only
  // shows once everything is read (e.g. a byte with no token).
  std::shared_ptr<const TokenizerImpl> build(const std::string& source);

 private:
  std::unique_ptr<TokenizerImpl> impl_;
  std::unordered_map<std::string, int32_t> vocab_;  // byte-level spelling -> id
  std::unordered_map<int32_t, std::string> id_symbols_;
  std::vector<AddedToken> added_;
  int32_t rank_ = 0;
  bool nfc_ = false;
  bool byte_fallback_ = false;
  // the byte-fallback spelling's tables: byte tokens, characters, decoded bytes
  void build_byte_fallback(const std::string& source, std::vector<std::string>& bytes);
  void build_byte_level(const std::string& source, std::vector<std::string>& bytes);
};

}  // namespace merino::tok

// Decoded text of a growing token sequence, handed out as it becomes printable: a token may end
// in the middle of a multi-byte UTF-8 character (byte-level BPE splits characters across tokens,
// LLaMA-2's byte fallback spells them byte by byte), so the bytes of an incomplete character are
// held back until the tokens that complete it arrive. The sequence is decoded whole each time
// (tokenizers decode context-free byte strings, and LLaMA-2's decoder drops a leading space only
// at the very start), and what the prompt decodes to is never printed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace merino::generate {

// The length of the longest prefix of `s` that does not end inside an incomplete UTF-8
// sequence: a lead byte followed by fewer continuation bytes than it announces is cut off, with
// its continuation bytes; anything else (complete characters, stray bytes) is kept.
size_t complete_utf8_prefix(std::string_view s);

class TextStream {
 public:
  TextStream(const Tokenizer& tok, std::vector<int32_t> prompt);
  // The printable text the token adds (possibly empty).
  std::string push(int32_t token);
  // Whatever is still held back (an incomplete character at the end), to print at the end.
  std::string finish();

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t printed_ = 0;  // bytes of decode(ids_) handed out, or the prompt's
};

}  // namespace merino::generate

// GPT-2's pre-tokenisation: text is cut into "pieces" (words with their leading space, digit
// runs, punctuation runs, whitespace runs) by one regular expression, and BPE then runs inside
// each piece only. The pattern is GPT-2's, matched with PCRE2 (JIT when available):
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// with \s spelled out as the Unicode White_Space property (tab..CR, space, U+0085, U+00A0,
// U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). That is what \s means in the
// regex engines of GPT-2 (Python `regex`), tiktoken (Rust) and HF tokenizers (Oniguruma), while
// PCRE2's own \s under UCP leaves out U+0085.
#pragma once
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace merino::tok {

class Pretokenizer {
 public:
  // A piece as [begin, end) byte offsets into the text given to split().
  using Span = std::pair<size_t, size_t>;

  // Per-thread PCRE2 match state; one Pretokenizer may be used by many threads at once, each with
  // its own Scratch.
  class Scratch {
   public:
    explicit Scratch(const Pretokenizer& p);
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

   private:
    friend class Pretokenizer;
    void* match_data_;  // pcre2_match_data_8*
  };

  Pretokenizer();  // compiles the pattern; throws std::runtime_error if PCRE2 refuses it
  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Replaces out with the pieces of text, which must be well-formed UTF-8 (see utf8.h): they are
  // consecutive and cover all of it.
  void split(std::string_view text, Scratch& scratch, std::vector<Span>& out) const;

 private:
  void* code_;  // pcre2_code_8*
  bool jit_;
};

}  // namespace merino::tok

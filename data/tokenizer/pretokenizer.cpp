#include "data/tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>
#include <string>

namespace merino::tok {
namespace {

// Unicode White_Space as a character-class body (see the header for why not \s).
#define MERINO_WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
constexpr const char* kPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" MERINO_WS "\\p{L}\\p{N}]+"
    "|[" MERINO_WS "]+(?![^" MERINO_WS "])|[" MERINO_WS "]+";
#undef MERINO_WS

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

pcre2_code* as_code(void* p) { return static_cast<pcre2_code*>(p); }
pcre2_match_data* as_md(void* p) { return static_cast<pcre2_match_data*>(p); }

}  // namespace

Pretokenizer::Pretokenizer() {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  // ANCHORED at compile time: every position starts a match (the last three alternatives cover
  // every character), so a match never needs to search forward, and JIT keeps the option.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &err, &err_offset, nullptr);
  if (!code) {
    throw std::runtime_error("merino tokenizer: PCRE2 rejected the GPT-2 pattern at offset " +
                             std::to_string(err_offset) + ": " + pcre2_message(err));
  }
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;  // falls back to the interpreter
}

Pretokenizer::~Pretokenizer() { pcre2_code_free(as_code(code_)); }

Pretokenizer::Scratch::Scratch(const Pretokenizer& p)
    : match_data_(pcre2_match_data_create_from_pattern(as_code(p.code_), nullptr)) {
  if (!match_data_) throw std::bad_alloc();
}

Pretokenizer::Scratch::~Scratch() { pcre2_match_data_free(as_md(match_data_)); }

void Pretokenizer::split(std::string_view text, Scratch& scratch, std::vector<Span>& out) const {
  out.clear();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  pcre2_match_data* md = as_md(scratch.match_data_);
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  size_t pos = 0;
  while (pos < text.size()) {
    // The caller guarantees valid UTF-8, so PCRE2's own O(n) check per call is skipped (the JIT
    // entry point never does it); without that, splitting would be quadratic in the text length.
    const int rc = jit_ ? pcre2_jit_match(as_code(code_), subject, text.size(), pos, 0, md, nullptr)
                        : pcre2_match(as_code(code_), subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0 || ov[0] != pos || ov[1] <= pos) {
      throw std::runtime_error("merino tokenizer: pre-tokenizer failed at byte " + std::to_string(pos) +
                               (rc < 0 ? ": " + pcre2_message(rc) : std::string(": empty match")));
    }
    out.emplace_back(pos, ov[1]);
    pos = ov[1];
  }
}

}  // namespace merino::tok

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. These are
// the rules PCRE2 checks, so text that passes here may be handed to PCRE2 without its own check.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace merino::tok {

// Decodes the sequence at s[0..n): returns its length (1..4) and sets cp, or returns 0 when the
// bytes there do not start a complete, well-formed sequence.
size_t utf8_decode(const unsigned char* s, size_t n, uint32_t& cp);

// Length of the longest prefix of text that is well-formed UTF-8.
size_t utf8_valid_prefix(std::string_view text);

// Appends the UTF-8 encoding of cp (cp must be a Unicode scalar value).
void utf8_append(uint32_t cp, std::string& out);

}  // namespace merino::tok

// GPT-2's byte-level alphabet: every byte 0..255 is shown in vocab files as one printable
// Unicode character, so that encoder.json / vocab.bpe / tokenizer.json can store arbitrary
// byte strings as text (the "bytes_to_unicode" table of GPT-2's encoder.py, rebuilt here from
// its definition). Printable Latin-1 bytes stand for themselves; the other 68 bytes are shifted
// to U+0100.. in increasing byte order, e.g. space -> U+0120 'Ġ', newline -> U+010A 'Ċ'.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace merino::tok {

// The code point that stands for byte b.
uint32_t byte_to_codepoint(uint8_t b);

// Converts a token as written in a vocab file (UTF-8 of alphabet characters) to the raw bytes it
// stands for, appending them to out. Returns false, leaving out unspecified, when the text is not
// well-formed UTF-8 or holds a character outside the 256-character alphabet.
bool symbols_to_bytes(std::string_view symbols, std::string& out);

// The inverse: raw bytes -> vocab-file spelling (UTF-8).
std::string bytes_to_symbols(std::string_view bytes);

}  // namespace merino::tok

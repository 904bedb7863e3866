// Unicode NFC normalisation, needed only by tokenizer.json files that declare an NFC normalizer
// (GPT-NeoX-20B does; GPT-2 has no normalizer). Implemented with ICU when the build found it;
// otherwise nfc_available() is false and loading such a tokenizer fails with a clear message
// rather than silently giving ids that differ from the reference on non-NFC text.
#pragma once
#include <string>
#include <string_view>

namespace merino::tok {

bool nfc_available();

// True when text is certainly already NFC without looking it up: every code point is below
// U+0300, where no character decomposes or combines (UTF-8 lead bytes below 0xCC).
bool trivially_nfc(std::string_view text);

// Writes the NFC form of text (well-formed UTF-8) to out. Throws std::runtime_error when
// nfc_available() is false or ICU reports an error.
void nfc_normalize(std::string_view text, std::string& out);

}  // namespace merino::tok

#include "data/tokenizer/byte_level.h"

#include <array>

#include "data/tokenizer/utf8.h"

namespace merino::tok {
namespace {

// Bytes that are printable in Latin-1 map to their own code point; the rest, in increasing
// order, take U+0100, U+0101, ... (68 of them, ending at U+0143).
struct Alphabet {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 0x144> from_cp{};  // code point -> byte, -1 when not in the alphabet

  Alphabet() {
    from_cp.fill(-1);
    uint32_t next_shifted = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? static_cast<uint32_t>(b) : next_shifted++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) { return alphabet().to_cp[b]; }

bool symbols_to_bytes(std::string_view symbols, std::string& out) {
  const Alphabet& a = alphabet();
  const auto* s = reinterpret_cast<const unsigned char*>(symbols.data());
  size_t i = 0;
  while (i < symbols.size()) {
    uint32_t cp = 0;
    const size_t len = utf8_decode(s + i, symbols.size() - i, cp);
    if (len == 0 || cp >= a.from_cp.size() || a.from_cp[cp] < 0) return false;
    out.push_back(static_cast<char>(a.from_cp[cp]));
    i += len;
  }
  return true;
}

std::string bytes_to_symbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8_append(alphabet().to_cp[b], out);
  return out;
}

}  // namespace merino::tok

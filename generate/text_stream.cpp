#include "generate/text_stream.h"

#include <utility>

namespace merino::generate {

size_t complete_utf8_prefix(std::string_view s) {
  // look back at most 3 bytes for the lead byte of the last character
  const size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for its lead
    const size_t need = (c & 0xE0) == 0xC0   ? 2
                        : (c & 0xF0) == 0xE0 ? 3
                        : (c & 0xF8) == 0xF0 ? 4
                                             : 1;
    return back < need ? n - back : n;
  }
  return n;  // only continuation bytes: no lead to wait for
}

TextStream::TextStream(const Tokenizer& tok, std::vector<int32_t> prompt)
    : tok_(tok), ids_(std::move(prompt)), printed_(tok.decode(ids_).size()) {}

std::string TextStream::push(int32_t token) {
  ids_.push_back(token);
  const std::string text = tok_.decode(ids_);
  const size_t end = complete_utf8_prefix(text);
  if (end <= printed_) return "";
  std::string out = text.substr(printed_, end - printed_);
  printed_ = end;
  return out;
}

std::string TextStream::finish() {
  const std::string text = tok_.decode(ids_);
  std::string out = text.size() > printed_ ? text.substr(printed_) : "";
  printed_ = text.size();
  return out;
}

}  // namespace merino::generate

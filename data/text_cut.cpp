#include "data/text_cut.h"

namespace merino {
namespace {

bool graphic(char c) { return c > ' ' && c < 0x7f; }

}  // namespace

size_t find_safe_cut(std::string_view text, size_t from) {
  for (size_t p = from < 1 ? 1 : from; p + 1 < text.size(); ++p) {
    if (text[p - 1] != '\n') continue;
    if (text[p] == ' ' && graphic(text[p + 1])) return p;
    if (p >= 2 && graphic(text[p - 2]) && graphic(text[p])) return p;
  }
  return std::string_view::npos;
}

}  // namespace merino

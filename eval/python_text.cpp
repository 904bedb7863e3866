#include "eval/python_text.h"

#include "data/tokenizer/utf8.h"

namespace merino::eval {

bool is_python_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t space_length_at(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  if (*p < 0x80) return is_python_space(*p) ? 1 : 0;  // the common case, without decoding
  uint32_t cp = 0;
  const size_t n = tok::utf8_decode(p, s.size() - i, cp);
  return n && is_python_space(cp) ? n : 0;
}

namespace {

// Length of the whitespace character that ends at s[end - 1], or 0. A UTF-8 character is at
// most 4 bytes, so the candidates are the 1..4 bytes before `end`.
size_t space_length_before(std::string_view s, size_t end) {
  for (size_t len = 1; len <= 4 && len <= end; ++len) {
    const auto c = static_cast<unsigned char>(s[end - len]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: the character starts earlier
    return space_length_at(s, end - len) == len ? len : 0;
  }
  return 0;
}

}  // namespace

std::string_view python_strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e) {
    const size_t n = space_length_at(s, b);
    if (!n) break;
    b += n;
  }
  while (e > b) {
    const size_t n = space_length_before(s, e);
    if (!n) break;
    e -= n;
  }
  return s.substr(b, e - b);
}

size_t python_trailing_space_bytes(std::string_view s) {
  size_t e = s.size();
  while (e > 0) {
    const size_t n = space_length_before(s, e);
    if (!n) break;
    e -= n;
  }
  return s.size() - e;
}

size_t code_point_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

namespace {

// Case mapping for ASCII and Latin-1 letters, the ones HellaSwag's English text holds.
uint32_t to_upper_latin1(uint32_t cp) {
  if ((cp >= 'a' && cp <= 'z') || (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)) return cp - 0x20;
  return cp;
}
uint32_t to_lower_latin1(uint32_t cp) {
  if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 0x20;
  return cp;
}

}  // namespace

std::string python_capitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t n = tok::utf8_decode(p + i, s.size() - i, cp);
    if (!n) {  // not UTF-8: kept as it is
      out += s[i++];
      continue;
    }
    tok::utf8_append(i == 0 ? to_upper_latin1(cp) : to_lower_latin1(cp), out);
    i += n;
  }
  return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (size_t j; (j = s.find(from, i)) != std::string_view::npos; i = j + from.size()) {
    out.append(s.substr(i, j - i));
    out.append(to);
  }
  out.append(s.substr(i));
  return out;
}

namespace {

// Calls on_run(start, end) for each maximal whitespace run.
template <class F>
void for_each_space_run(std::string_view s, F on_run) {
  size_t i = 0;
  while (i < s.size()) {
    size_t n = space_length_at(s, i);
    if (!n) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (n) {
      i += n;
      n = i < s.size() ? space_length_at(s, i) : 0;
    }
    on_run(start, i);
  }
}

}  // namespace

std::vector<std::string_view> python_split(std::string_view s) {
  std::vector<std::string_view> words;
  size_t word_start = 0;
  for_each_space_run(s, [&](size_t b, size_t e) {
    if (b > word_start) words.push_back(s.substr(word_start, b - word_start));
    word_start = e;
  });
  if (word_start < s.size()) words.push_back(s.substr(word_start));
  return words;
}

uint64_t count_regex_split_fields(std::string_view s) {
  uint64_t runs = 0;
  for_each_space_run(s, [&](size_t, size_t) { ++runs; });
  return runs + 1;
}

uint64_t count_words(std::string_view s) {
  // fields between runs, minus the empty ones at either end
  uint64_t fields = 0;
  bool at_start = false, at_end = false;
  for_each_space_run(s, [&](size_t b, size_t e) {
    ++fields;
    at_start |= b == 0;
    at_end |= e == s.size();
  });
  if (s.empty()) return 0;
  return fields + 1 - uint64_t(at_start) - uint64_t(at_end);
}

}  // namespace merino::eval

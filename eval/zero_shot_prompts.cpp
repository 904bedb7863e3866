#include "eval/zero_shot_prompts.h"

#include "eval/python_text.h"

namespace merino::eval {

std::string hellaswag_preprocess(std::string_view text) {
  const std::string titled = replace_all(python_strip(text), " [title]", ". ");
  // re.sub(r"\[.*?\]", "", t): from a '[', the first ']' with no newline between; a '[' whose
  // match would cross a newline is kept and scanning goes on after it
  std::string untagged;
  for (size_t i = 0; i < titled.size();) {
    if (titled[i] == '[') {
      const size_t close = titled.find_first_of("]\n", i + 1);
      if (close != std::string::npos && titled[close] == ']') {
        i = close + 1;
        continue;
      }
    }
    untagged += titled[i++];
  }
  return replace_all(untagged, "  ", " ");
}

std::string general_detokenize(std::string_view text) {
  std::string s = replace_all(text, " n't", "n't");
  s = replace_all(s, " )", ")");
  s = replace_all(s, "( ", "(");
  s = replace_all(s, "\" ", "\"");
  s = replace_all(s, " \"", "\"");
  // re.sub(r" (['.,])", r"\1", s): one left-to-right pass
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' && i + 1 < s.size() && (s[i + 1] == '\'' || s[i + 1] == '.' || s[i + 1] == ',')) continue;
    out += s[i];
  }
  return out;
}

std::string_view drop_code_points(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t seen = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (seen++ == n) break;
  }
  return s.substr(i);
}

std::string_view python_lstrip(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    const size_t n = space_length_at(s, b);
    if (!n) break;
    b += n;
  }
  return s.substr(b);
}

}  // namespace merino::eval

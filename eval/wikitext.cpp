#include "eval/wikitext.h"

#include <utility>

#include "eval/python_text.h"

namespace merino::eval {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool is_article_heading(std::string_view line) {
  // section headings " = = X = = " collapse to "== X ==" and so do not match
  const std::string check = replace_all(replace_all(line, "= = =", "==="), "= =", "==");
  const std::string_view stripped = python_strip(check);
  return starts_with(stripped, "= ") && ends_with(stripped, " =");
}

std::string join_lines(const std::vector<std::string_view>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    out.append(lines[i]);
  }
  return out;
}

// re.sub(r"/' [0-9]/", r"/'[0-9]/", s): the pattern keeps its slashes, so it only ever
// rewrites the literal text "/' D/" (D a digit) to "/'[0-9]/".
std::string rewrite_slash_quote_digit(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s.size() - i >= 5 && s.substr(i, 3) == "/' " && s[i + 3] >= '0' && s[i + 3] <= '9' &&
        s[i + 4] == '/') {
      out += "/'[0-9]/";
      i += 5;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// re.sub(r"O\s*([^C]*?)\s*C", r"O\1C", s) for an ASCII pair O, C: a match starting at an O
// always ends at the first C after it (nothing in the pattern can cross a C), and the lazy group
// is the text between them without its surrounding whitespace. Matching resumes after the C,
// so quotes (O == C) pair left to right. UTF-8 continuation bytes never equal an ASCII byte,
// so a byte search finds the same positions as Python's code-point search.
std::string strip_inside_pairs(std::string_view s, char open, char close) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t j = s[i] == open ? s.find(close, i + 1) : std::string_view::npos;
    if (j == std::string_view::npos) {
      out += s[i++];
      continue;
    }
    out += open;
    out.append(python_strip(s.substr(i + 1, j - i - 1)));
    out += close;
    i = j + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> split_wikitext_documents(std::string_view raw) {
  std::vector<std::string> docs;
  std::vector<std::string_view> lines;
  size_t begin = 0;
  while (true) {
    const size_t nl = raw.find('\n', begin);
    const std::string_view line = raw.substr(begin, nl == std::string_view::npos ? raw.npos : nl - begin);
    if (is_article_heading(line)) {
      std::string page = join_lines(lines);
      if (!python_strip(page).empty()) docs.push_back(std::move(page));
      lines.clear();
    }
    lines.push_back(line);
    if (nl == std::string_view::npos) break;  // the text after the last "\n" is a line too
    begin = nl + 1;
  }
  docs.push_back(join_lines(lines));  // the last document is kept whatever it holds
  return docs;
}

std::string wikitext_detokenize(std::string_view page) {
  std::string s = replace_all(page, "s '", "s'");
  s = rewrite_slash_quote_digit(s);
  s = replace_all(s, " @-@ ", "-");
  s = replace_all(s, " @,@ ", ",");
  s = replace_all(s, " @.@ ", ".");
  for (const char* p : {":", ";", ".", "!", "?", ","})
    s = replace_all(s, std::string(" ") + p + " ", std::string(p) + " ");
  static constexpr std::pair<char, char> kPairs[] = {{'(', ')'}, {'[', ']'}, {'{', '}'}, {'"', '"'}, {'\'', '\''}};
  for (const auto& [open, close] : kPairs) s = strip_inside_pairs(s, open, close);
  s = replace_all(s, "= = = =", "====");
  s = replace_all(s, "= = =", "===");
  s = replace_all(s, "= =", "==");
  s = replace_all(s, " \xC2\xB0 ", "\xC2\xB0");  // " ° " -> "°"
  s = replace_all(s, " \n", "\n");
  s = replace_all(s, "\n ", "\n");
  s = replace_all(s, " N ", " 1 ");
  s = replace_all(s, " 's", "'s");
  return s;
}

}  // namespace merino::eval

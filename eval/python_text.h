// The few Python string operations the lm-evaluation-harness reference applies to text, with
// Python's exact semantics, so documents, targets and word counts match it byte for byte.
// Whitespace is Python's: str.isspace(), which is also what `\s` matches in a str regex.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace merino::eval {

// str.isspace() for one code point.
bool is_python_space(uint32_t cp);

// Length of the whitespace character starting at s[i], or 0 when s[i] does not start one.
// Bytes that are not well-formed UTF-8 are never whitespace.
size_t space_length_at(std::string_view s, size_t i);

// s.strip(): leading and trailing whitespace removed.
std::string_view python_strip(std::string_view s);

// len(s) - len(s.rstrip()), in bytes: the trailing whitespace.
size_t python_trailing_space_bytes(std::string_view s);

// s.split(): the maximal runs of non-whitespace, in order.
std::vector<std::string_view> python_split(std::string_view s);

// len(s): Unicode code points (UTF-8 lead bytes; a stray byte counts as one).
size_t code_point_count(std::string_view s);

// s.capitalize() for ASCII and Latin-1 letters: the first character upper-cased, every other
// one lower-cased. Letters outside Latin-1 keep their case (Python would change it too).
std::string python_capitalize(std::string_view s);

// s.replace(from, to): every non-overlapping occurrence, left to right, in one pass.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

// len(re.split(r"\s+", s)): whitespace runs + 1, so leading / trailing whitespace each add an
// empty field, as lm-eval's word count does.
uint64_t count_regex_split_fields(std::string_view s);

// len(s.split()): maximal runs of non-whitespace.
uint64_t count_words(std::string_view s);

}  // namespace merino::eval

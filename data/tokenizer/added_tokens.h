// Added tokens (special tokens such as <|endoftext|>, and HF "added_tokens" like NeoX's runs of
// spaces) are found in the text before pre-tokenisation and encoded as single ids; the text
// between them is encoded normally. Matching is leftmost-longest, as in HF tokenizers
// (aho-corasick LeftmostLongest) and tiktoken (one alternation regex, longest first).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace merino::tok {

struct AddedToken {
  std::string content;  // raw text bytes (not the byte-level alphabet)
  int32_t id = -1;
  bool special = false;     // recognised only when the caller allows special tokens
  bool normalized = false;  // HF: matched after normalisation rather than on the raw text
};

// A byte trie over a fixed set of literal strings.
class LiteralMatcher {
 public:
  LiteralMatcher() = default;
  void add(std::string_view literal, int32_t id);  // literal must be non-empty
  bool empty() const { return nodes_.empty(); }

  struct Match {
    size_t pos = 0, len = 0;
    int32_t id = -1;
  };
  // Leftmost-longest match in text at or after from; false if none.
  bool find(std::string_view text, size_t from, Match& m) const;

 private:
  struct Node {
    int32_t id = -1;  // >= 0 when a literal ends here
    std::vector<std::pair<unsigned char, int32_t>> children;
  };
  int32_t child(int32_t node, unsigned char b) const;
  std::vector<Node> nodes_;  // nodes_[0] is the root
  bool first_byte_[256] = {};
};

// Calls on_text(segment) for the text between matches and on_token(id) for each match, in order.
// Empty text segments are skipped.
template <class OnText, class OnToken>
void split_on_literals(std::string_view text, const LiteralMatcher& matcher, OnText&& on_text, OnToken&& on_token) {
  if (matcher.empty()) {
    if (!text.empty()) on_text(text);
    return;
  }
  size_t pos = 0;
  LiteralMatcher::Match m;
  while (matcher.find(text, pos, m)) {
    if (m.pos > pos) on_text(text.substr(pos, m.pos - pos));
    on_token(m.id);
    pos = m.pos + m.len;
  }
  if (pos < text.size()) on_text(text.substr(pos));
}

}  // namespace merino::tok

#include "data/tokenizer/added_tokens.h"

namespace merino::tok {

int32_t LiteralMatcher::child(int32_t node, unsigned char b) const {
  for (const auto& [byte, next] : nodes_[node].children) {
    if (byte == b) return next;
  }
  return -1;
}

void LiteralMatcher::add(std::string_view literal, int32_t id) {
  if (nodes_.empty()) nodes_.emplace_back();
  int32_t node = 0;
  for (unsigned char b : literal) {
    int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(b, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  nodes_[node].id = id;
  first_byte_[static_cast<unsigned char>(literal[0])] = true;
}

bool LiteralMatcher::find(std::string_view text, size_t from, Match& m) const {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t start = from; start < text.size(); ++start) {
    if (!first_byte_[s[start]]) continue;  // most bytes cannot start a literal
    int32_t node = 0;
    bool found = false;
    for (size_t i = start; i < text.size(); ++i) {
      node = child(node, s[i]);
      if (node < 0) break;
      if (nodes_[node].id >= 0) {  // keep walking: a longer literal wins
        m = Match{start, i + 1 - start, nodes_[node].id};
        found = true;
      }
    }
    if (found) return true;
  }
  return false;
}

}  // namespace merino::tok

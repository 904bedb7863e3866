// One line of a Pile-format JSON lines file: {"text": "...", "meta": {"pile_set_name": "..."}}.
#pragma once
#include <string>
#include <vector>

namespace merino {

struct PileLine {
  enum class Status { Document, Filtered, Bad };
  Status status = Status::Bad;
  std::string text;     // Document: the text
  std::string problem;  // Bad: what is wrong, e.g. `malformed JSON (column 3: ...)`
};

// `pile_sets` empty keeps every document; otherwise only those whose meta.pile_set_name is one
// of them (a line without one is Filtered).
PileLine parse_pile_line(const std::string& line, const std::vector<std::string>& pile_sets);

}  // namespace merino

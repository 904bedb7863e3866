// What `merino prepare` accepts as input, decided from the file name:
//   *.jsonl, *.json (+ .zst)  Pile-format JSON lines: one document per line, {"text": ..., "meta":
//                             {"pile_set_name": ...}}
//   *.txt, *.raw, *.tokens (+ .zst)  plain text (WikiText, PTB): the whole file is one document
#pragma once
#include <cstdint>
#include <string>

namespace merino {

struct InputFile {
  enum class Kind { JsonLines, Text };
  std::string path;
  Kind kind = Kind::Text;
  bool zstd = false;
  uint64_t bytes = 0;  // file size
  std::string format() const;  // "jsonl", "jsonl.zst", "text", "text.zst"
};

// Throws DataError naming the file when it is missing, not a regular file, or of unknown type.
InputFile describe_input(const std::string& path);

}  // namespace merino

#include "data/input_file.h"

#include <filesystem>

#include "base/errors.h"

namespace merino {

std::string InputFile::format() const {
  return std::string(kind == Kind::JsonLines ? "jsonl" : "text") + (zstd ? ".zst" : "");
}

InputFile describe_input(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(path + ": no such input file");
  if (!fs::is_regular_file(st)) throw DataError(path + ": input is not a regular file");
  InputFile in;
  in.path = path;
  in.bytes = fs::file_size(path, ec);
  if (ec) throw DataError(path + ": cannot read the file size: " + ec.message());
  fs::path name = fs::path(path).filename();
  if (name.extension() == ".zst") {
    in.zstd = true;
    name = name.stem();
  }
  const std::string ext = name.extension().string();
  if (ext == ".jsonl" || ext == ".json") {
    in.kind = InputFile::Kind::JsonLines;
  } else if (ext == ".txt" || ext == ".raw" || ext == ".tokens") {
    in.kind = InputFile::Kind::Text;
  } else {
    throw DataError(path + ": unknown input type (expected .jsonl, .json, .txt, .raw or .tokens, optionally + .zst)");
  }
  return in;
}

}  // namespace merino

// The documents of `merino prepare`'s inputs, in order, as pieces of text to tokenize: a JSON
// line's document is one piece; a plain-text file is cut into pieces of about 1 MiB at safe
// cuts (text_cut.h), so a large file streams and its pieces encode in parallel with exactly the
// ids of the whole file. Every piece records where it starts, so a run can resume there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "data/input_file.h"

namespace merino {

class ByteSource;

// A point in the inputs where a piece starts: input index, byte offset in the (decompressed)
// stream, 1-based line there, and the bad lines skipped and documents filtered out before it
// in the whole run.
struct InputPosition {
  size_t input = 0;
  uint64_t offset = 0;
  uint64_t line = 1;
  uint64_t bad_lines = 0;
  uint64_t filtered = 0;
};

struct Piece {
  std::string text;
  bool ends_document = false;  // the end-of-text token follows it
  InputPosition start;
};

struct PieceBatch {
  std::vector<Piece> pieces;   // empty only at the end of the last input
  uint64_t input_bytes = 0;    // input file bytes consumed so far (all inputs), for progress
  uint64_t bad_lines = 0;      // run totals so far, as in InputPosition
  uint64_t filtered = 0;
};

struct PieceReaderOptions {
  std::vector<std::string> pile_sets;  // keep only these pile_set_name values (JSON lines)
  bool skip_bad_lines = false;         // count and skip bad JSON lines instead of failing
  size_t text_piece_bytes = size_t(1) << 20;
};

class PieceReader {
 public:
  // Starts at `start` (a position an earlier run recorded, or the beginning). Throws DataError
  // if an input is shorter than that position.
  PieceReader(std::vector<InputFile> inputs, PieceReaderOptions options, InputPosition start = {});
  ~PieceReader();

  // Pieces holding at least `bytes` of text, unless the inputs end first. Throws DataError with
  // "FILE:LINE: problem" for a bad JSON line (unless skipped) and for unreadable inputs, once
  // the pieces before the problem have been returned.
  PieceBatch next_batch(size_t bytes);
  // Input file bytes consumed so far (as in PieceBatch); not to be called during next_batch.
  uint64_t input_bytes() const;

 private:
  bool next_piece(Piece& piece);  // false at the end of the current input
  bool next_json_piece(Piece& piece);
  bool next_text_piece(Piece& piece);
  void open(size_t input, const InputPosition& at);
  bool fill();  // reads more bytes into buffer_; false at the end of the input
  void consume(size_t n, uint64_t lines);
  InputPosition here() const;

  std::vector<InputFile> inputs_;
  PieceReaderOptions options_;
  size_t input_;
  std::unique_ptr<ByteSource> source_;
  std::string buffer_;  // bytes of the current input; the unread ones start at buffer_[pos_]
  size_t pos_ = 0;
  bool eof_ = false;
  bool text_done_ = false;     // the current text file's last piece has been returned
  uint64_t offset_ = 0;        // stream offset of buffer_[0]
  uint64_t line_ = 1;          // line number at buffer_[pos_]
  uint64_t bad_lines_ = 0;
  uint64_t filtered_ = 0;
  uint64_t finished_bytes_ = 0;  // sizes of the inputs already read to the end
  std::exception_ptr error_;     // raised by the next call, after the pieces read before it
};

}  // namespace merino

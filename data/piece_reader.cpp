#include "data/piece_reader.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/errors.h"
#include "data/byte_source.h"
#include "data/pile_json.h"
#include "data/text_cut.h"

namespace merino {
namespace {

constexpr size_t kReadBytes = size_t(1) << 20;

bool blank(const char* p, size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

PieceReader::PieceReader(std::vector<InputFile> inputs, PieceReaderOptions options, InputPosition start)
    : inputs_(std::move(inputs)), options_(std::move(options)), input_(start.input), bad_lines_(start.bad_lines),
      filtered_(start.filtered) {
  if (input_ > inputs_.size()) throw DataError("resume point names input " + std::to_string(input_) + " of " +
                                               std::to_string(inputs_.size()));
  for (size_t i = 0; i < input_; ++i) finished_bytes_ += inputs_[i].bytes;
  if (input_ < inputs_.size()) open(input_, start);
}

PieceReader::~PieceReader() = default;

void PieceReader::open(size_t input, const InputPosition& at) {
  source_ = open_byte_source(inputs_[input].path);
  buffer_.clear();
  pos_ = 0;
  eof_ = false;
  text_done_ = false;
  offset_ = 0;
  line_ = 1;
  while (offset_ + buffer_.size() < at.offset) {
    offset_ += buffer_.size();
    buffer_.clear();
    if (!fill())
      throw DataError(inputs_[input].path + ": ends before byte " + std::to_string(at.offset) +
                      ", where the earlier run stopped (has the input changed?)");
  }
  pos_ = size_t(at.offset - offset_);
  line_ = at.line;
}

bool PieceReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {  // compact: unread bytes move to the front, so the buffer stays bounded
    buffer_.erase(0, pos_);
    offset_ += pos_;
    pos_ = 0;
  }
  const size_t old = buffer_.size();
  buffer_.resize(old + kReadBytes);
  const size_t got = source_->read(&buffer_[old], kReadBytes);
  buffer_.resize(old + got);
  eof_ = got == 0;
  return got > 0;
}

void PieceReader::consume(size_t n, uint64_t lines) {
  pos_ += n;
  line_ += lines;
}

InputPosition PieceReader::here() const { return InputPosition{input_, offset_ + pos_, line_, bad_lines_, filtered_}; }

bool PieceReader::next_json_piece(Piece& piece) {
  size_t scanned = 0;  // bytes after pos_ already searched for '\n'
  for (;;) {
    const size_t avail = buffer_.size() - pos_;
    const char* begin = buffer_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(begin + scanned, '\n', avail - scanned));
    if (!nl && !eof_) {
      fill();  // may move the buffer: everything is recomputed
      scanned = avail;
      continue;
    }
    if (!nl && avail == 0) return false;
    const size_t len = nl ? size_t(nl - begin) : avail;
    const InputPosition start = here();
    std::string line(begin, len);
    consume(nl ? len + 1 : len, 1);
    scanned = 0;
    if (blank(line.data(), line.size())) continue;

    PileLine parsed = parse_pile_line(line, options_.pile_sets);
    if (parsed.status == PileLine::Status::Filtered) {
      ++filtered_;
    } else if (parsed.status == PileLine::Status::Bad) {
      if (!options_.skip_bad_lines)
        throw DataError(inputs_[input_].path + ":" + std::to_string(start.line) + ": " + parsed.problem);
      ++bad_lines_;
    } else {
      piece.text = std::move(parsed.text);
      piece.ends_document = true;
      piece.start = start;
      return true;
    }
  }
}

bool PieceReader::next_text_piece(Piece& piece) {
  if (text_done_) return false;
  size_t from = options_.text_piece_bytes;  // pieces are at least this long, except the last
  for (;;) {
    const std::string_view rest(buffer_.data() + pos_, buffer_.size() - pos_);
    const size_t cut = find_safe_cut(rest, from);
    if (cut == std::string_view::npos && !eof_) {
      from = std::max(from, rest.empty() ? size_t(0) : rest.size() - 1);  // cuts before it were ruled out
      fill();  // may move the buffer: everything is recomputed
      continue;
    }
    const size_t len = cut == std::string_view::npos ? rest.size() : cut;
    piece.start = here();
    piece.text.assign(rest.data(), len);
    piece.ends_document = cut == std::string_view::npos;
    text_done_ = piece.ends_document;
    consume(len, uint64_t(std::count(piece.text.begin(), piece.text.end(), '\n')));
    return true;
  }
}

bool PieceReader::next_piece(Piece& piece) {
  return inputs_[input_].kind == InputFile::Kind::JsonLines ? next_json_piece(piece) : next_text_piece(piece);
}

uint64_t PieceReader::input_bytes() const { return finished_bytes_ + (source_ ? source_->file_bytes_read() : 0); }

PieceBatch PieceReader::next_batch(size_t bytes) {
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  PieceBatch batch;
  size_t got = 0;
  while (got < bytes && input_ < inputs_.size()) {
    Piece piece;
    bool more;
    try {
      more = next_piece(piece);
    } catch (const DataError&) {
      // The pieces before a bad line are good: deliver them first, so every shard they
      // complete is written before the error stops the run.
      if (batch.pieces.empty()) throw;
      error_ = std::current_exception();
      break;
    }
    if (!more) {
      finished_bytes_ += inputs_[input_].bytes;
      source_.reset();
      if (++input_ < inputs_.size()) open(input_, InputPosition{});  // from its first byte
      continue;
    }
    got += piece.text.size() + 1;  // + 1: empty documents still make progress
    batch.pieces.push_back(std::move(piece));
  }
  batch.input_bytes = input_bytes();
  batch.bad_lines = bad_lines_;
  batch.filtered = filtered_;
  return batch;
}

}  // namespace merino

#include "data/shard_sink.h"

#include <algorithm>
#include <filesystem>

#include "data/shard.h"
#include "data/shard_names.h"

namespace merino {

ShardSink::ShardSink(std::string out_dir, Manifest& manifest, uint64_t shard_tokens, uint64_t val_tokens, int32_t eot)
    : out_dir_(std::move(out_dir)),
      manifest_path_((std::filesystem::path(out_dir_) / "manifest.json").string()),
      manifest_(manifest),
      shard_tokens_(shard_tokens),
      val_target_(val_tokens),
      eot_(eot) {
  for (const ShardRecord& s : manifest_.shards) {
    if (s.split == kValSplit) {
      val_tokens_ += s.tokens;
      ++val_shards_;
    } else {
      train_tokens_ += s.tokens;
      ++train_shards_;
    }
  }
  if (!manifest_.shards.empty()) documents_ = manifest_.shards.back().next.documents;
}

uint64_t ShardSink::capacity() const {
  return in_val() ? std::min(shard_tokens_, val_target_ - val_tokens_) : shard_tokens_;
}

uint64_t ShardSink::add(const Piece& piece, const std::vector<int32_t>& tokens, uint64_t skip) {
  const uint64_t total = tokens.size() + (piece.ends_document ? 1 : 0);
  const uint64_t documents_before = documents_;
  if (piece.ends_document) ++documents_;
  if (skip >= total) return skip - total;
  for (uint64_t k = skip; k < total;) {
    const uint64_t take = std::min(total - k, capacity() - buffer_.size());
    const uint64_t from_text = std::min(k + take, uint64_t(tokens.size()));
    if (k < from_text) buffer_.insert(buffer_.end(), tokens.begin() + ptrdiff_t(k), tokens.begin() + ptrdiff_t(from_text));
    if (k + take > tokens.size()) buffer_.push_back(eot_);  // the piece's last token is the end-of-text
    k += take;
    if (buffer_.size() == capacity()) flush(ResumePoint{piece.start, k, documents_before});
  }
  return 0;
}

void ShardSink::flush(const ResumePoint& next) {
  const bool val = in_val();
  ShardRecord record;
  record.split = val ? kValSplit : kTrainSplit;
  record.file = shard_file_name(record.split, val ? val_shards_ : train_shards_);
  record.tokens = buffer_.size();
  const std::string path = (std::filesystem::path(out_dir_) / record.file).string();
  record.sha256 = write_shard(path, buffer_);
  record.shard_version = ShardReader(path).version();  // also proves the file reads back
  record.next = next;
  (val ? val_tokens_ : train_tokens_) += buffer_.size();
  ++(val ? val_shards_ : train_shards_);
  ++written_;
  buffer_.clear();

  manifest_.shards.push_back(std::move(record));
  manifest_.documents = next.documents;
  manifest_.bad_lines = next.at.bad_lines;
  manifest_.filtered = next.at.filtered;
  write_manifest(manifest_path_, manifest_);
}

void ShardSink::finish(const InputPosition& end) {
  if (!buffer_.empty()) flush(ResumePoint{end, 0, documents_});
  manifest_.complete = true;
  manifest_.documents = documents_;
  manifest_.bad_lines = end.bad_lines;
  manifest_.filtered = end.filtered;
  write_manifest(manifest_path_, manifest_);
}

}  // namespace merino

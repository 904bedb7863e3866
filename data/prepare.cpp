// prepare_shards: settle the output directory (new, or resumable with the same settings), then
// stream the inputs through the tokenizer into a ShardSink. The next batch of input is read on
// a second thread while the current one is tokenized.
#include "data/prepare.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <limits>
#include <thread>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "base/sha256.h"
#include "data/input_file.h"
#include "data/manifest.h"
#include "data/piece_reader.h"
#include "data/shard_names.h"
#include "data/shard_sink.h"

namespace merino {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kBatchBytes = size_t(16) << 20;

json settings_json(const PrepareOptions& o, const Tokenizer& tok, const std::vector<InputFile>& inputs) {
  json sources = json::array();
  for (const InputFile& in : inputs)
    sources.push_back(json{{"path", fs::absolute(in.path).lexically_normal().string()},
                           {"bytes", in.bytes},
                           {"format", in.format()}});
  return json{{"tokenizer", {{"name", o.tokenizer_name}, {"vocab_size", tok.vocab_size()}, {"eot_token", tok.eot_token()}}},
              {"sources", sources},
              {"shard_tokens", o.shard_tokens},
              {"val_tokens", o.val_tokens},
              {"pile_sets", o.pile_sets},
              {"skip_bad_lines", o.skip_bad_lines}};
}

// The first setting that differs, for the error message.
std::string first_difference(const json& old_settings, const json& new_settings) {
  for (const auto& [key, value] : new_settings.items())
    if (!old_settings.contains(key) || old_settings[key] != value) return key;
  return "settings";
}

// How many of the manifest's shards are intact (present, sha256 as recorded), in order; files
// are hashed in parallel since a Pile-sized run has thousands.
size_t count_intact_shards(const std::string& out_dir, const Manifest& m, int threads) {
  std::vector<char> ok(m.shards.size(), 0);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < m.shards.size();) {
      const fs::path path = fs::path(out_dir) / m.shards[i].file;
      try {
        ok[i] = sha256_file(path.string()) == m.shards[i].sha256;
      } catch (const DataError&) {
        ok[i] = 0;  // missing or unreadable: written again
      }
    }
  };
  const size_t n = std::min<size_t>(m.shards.size(), threads > 0 ? size_t(threads) : std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return size_t(std::find(ok.begin(), ok.end(), 0) - ok.begin());
}

// Leftovers of an interrupted run: temporary shard and manifest files.
void remove_temporaries(const std::string& out_dir) {
  for (const fs::directory_entry& e : fs::directory_iterator(out_dir)) {
    const std::string name = e.path().filename().string();
    if (AtomicFile::is_temporary_name(name) &&
        (is_prepared_shard_name(name.substr(0, name.rfind(".tmp."))) ||
         name.rfind("manifest.json.tmp.", 0) == 0))
      fs::remove(e.path());
  }
}

void check_options(const PrepareOptions& o, const Tokenizer& tok, const std::vector<InputFile>& inputs) {
  if (inputs.empty()) throw DataError("prepare: no input files");
  if (o.out_dir.empty()) throw DataError("prepare: no output directory");
  if (o.shard_tokens < 1 || o.shard_tokens > uint64_t(std::numeric_limits<int32_t>::max()))
    throw DataError("prepare: shard tokens must be in [1, 2147483647] (the header's int32 count), got " +
                    std::to_string(o.shard_tokens));
  if (tok.eot_token() < 0) throw DataError("prepare: the tokenizer has no <|endoftext|> token to end documents with");
  if (!o.pile_sets.empty())
    for (const InputFile& in : inputs)
      if (in.kind != InputFile::Kind::JsonLines)
        throw DataError(in.path + ": a pile_set_name filter applies only to JSON lines inputs, and this is plain text");
}

}  // namespace

PrepareResult prepare_shards(const PrepareOptions& o, const Tokenizer& tok,
                             const std::function<void(const PrepareProgress&)>& progress) {
  std::vector<InputFile> inputs;
  for (const std::string& path : o.inputs) inputs.push_back(describe_input(path));
  check_options(o, tok, inputs);
  const json settings = settings_json(o, tok, inputs);

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec || !fs::is_directory(o.out_dir)) throw DataError(o.out_dir + ": cannot create the output directory");
  const std::string manifest_path = (fs::path(o.out_dir) / "manifest.json").string();

  PrepareResult result;
  Manifest manifest;
  if (std::optional<Manifest> old = read_manifest(manifest_path)) {
    if (old->settings != settings)
      throw DataError(manifest_path + ": written by a run with other settings (`" + first_difference(old->settings, settings) +
                      "` differs); use a new --out directory or delete this one");
    manifest = std::move(*old);
    const size_t intact = count_intact_shards(o.out_dir, manifest, o.threads);
    result.already_complete = manifest.complete && intact == manifest.shards.size();
    manifest.complete = result.already_complete;
    manifest.shards.resize(intact);
    result.shards_kept = intact;
    if (!result.already_complete) {  // the totals of the shards kept, not of those dropped
      const ResumePoint kept = manifest.shards.empty() ? ResumePoint{} : manifest.shards.back().next;
      manifest.documents = kept.documents;
      manifest.bad_lines = kept.at.bad_lines;
      manifest.filtered = kept.at.filtered;
    }
  } else {
    for (const fs::directory_entry& e : fs::directory_iterator(o.out_dir))
      if (is_prepared_shard_name(e.path().filename().string()))
        throw DataError(o.out_dir + ": holds shard files but no manifest.json; refusing to overwrite them");
    manifest.settings = settings;
  }

  const auto fill_totals = [&] {
    for (const ShardRecord& s : manifest.shards) {
      (s.split == kValSplit ? result.val_shards : result.train_shards) += 1;
      (s.split == kValSplit ? result.val_tokens : result.train_tokens) += s.tokens;
    }
    result.documents = manifest.documents;
    result.bad_lines = manifest.bad_lines;
    result.filtered = manifest.filtered;
  };
  if (result.already_complete) {
    fill_totals();
    return result;
  }

  remove_temporaries(o.out_dir);
  write_manifest(manifest_path, manifest);

  const ResumePoint start = manifest.shards.empty() ? ResumePoint{} : manifest.shards.back().next;
  PieceReader reader(inputs, PieceReaderOptions{o.pile_sets, o.skip_bad_lines, o.text_piece_bytes}, start.at);
  ShardSink sink(o.out_dir, manifest, o.shard_tokens, o.val_tokens, tok.eot_token());
  uint64_t skip = start.skip_tokens;

  PrepareProgress status;
  for (const InputFile& in : inputs) status.input_bytes_total += in.bytes;
  status.input_bytes_start = reader.input_bytes();

  const auto read_batch = [&reader] { return reader.next_batch(kBatchBytes); };
  std::future<PieceBatch> pending = std::async(std::launch::async, read_batch);
  PieceBatch batch;
  for (;;) {
    batch = pending.get();
    if (batch.pieces.empty()) break;
    pending = std::async(std::launch::async, read_batch);
    std::vector<std::string_view> texts;
    for (const Piece& p : batch.pieces) texts.emplace_back(p.text);
    const std::vector<std::vector<int32_t>> tokens = tok.encode_batch(texts, o.threads);
    for (size_t i = 0; i < batch.pieces.size(); ++i) skip = sink.add(batch.pieces[i], tokens[i], skip);
    if (progress) {
      status.input_bytes = batch.input_bytes;
      status.documents = sink.documents();
      status.tokens = sink.tokens();
      progress(status);
    }
  }
  if (skip > 0)
    throw DataError(manifest_path + ": the inputs end before the point where the earlier run stopped (have they changed?)");
  if (sink.tokens() == 0)
    throw DataError(std::string("prepare: the inputs hold no documents") +
                    (o.pile_sets.empty() ? "" : " from the requested --pile-set subsets"));
  sink.finish(InputPosition{inputs.size(), 0, 1, batch.bad_lines, batch.filtered});

  result.shards_written = sink.shards_written();
  fill_totals();
  return result;
}

}  // namespace merino

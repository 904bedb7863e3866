// DataLoader: a global position counts sequences across shards and epochs; an epoch's shard order
// and each shard's sequence order are recomputed from (seed, epoch[, shard]) when needed, so the
// position alone is the whole state.
#include "data/loader.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>

#include "base/errors.h"
#include "base/splitmix.h"
#include "data/shard.h"
#include "data/shard_names.h"

namespace merino {
namespace {

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

std::vector<std::string> list_shards(const std::string& dir, const std::string& split) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir + ": no such data directory");
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!is_shard_file_of(name, split)) continue;
    // a directory or FIFO under a shard's name is refused here by name (the reader would block
    // on a FIFO's open, or fail without naming it)
    std::error_code type_ec;
    if (!e.is_regular_file(type_ec)) throw DataError(e.path().string() + ": not a regular file");
    names.push_back(name);
  }
  if (ec) throw DataError(dir + ": cannot list directory: " + ec.message());
  if (names.empty())
    throw DataError(dir + ": no " + (split.empty() ? "" : split + "_") +
                    "*.bin shards in the data directory (run `merino prepare` first)");
  std::sort(names.begin(), names.end());
  if (split.empty()) {
    const auto has = [&](const std::string& of) {
      return std::any_of(names.begin(), names.end(),
                         [&](const std::string& n) { return is_shard_file_of(n, of); });
    };
    if (has(kTrainSplit) && has(kValSplit))
      throw DataError(dir + ": holds both train_*.bin and val_*.bin shards; choose one with the loader's split");
  }
  std::vector<std::string> paths;
  for (const std::string& n : names) paths.push_back((fs::path(dir) / n).string());
  return paths;
}

void check_options(const LoaderOptions& o) {
  if (o.batch < 1 || o.seq_len < 1 || o.world < 1 || o.rank < 0 || o.rank >= o.world)
    throw std::invalid_argument("DataLoader: need batch >= 1, seq_len >= 1, 0 <= rank < world (got batch " +
                                std::to_string(o.batch) + ", seq_len " + std::to_string(o.seq_len) + ", rank " +
                                std::to_string(o.rank) + ", world " + std::to_string(o.world) + ")");
}

}  // namespace

void to_json(nlohmann::json& j, const LoaderState& s) {
  j = nlohmann::json{{"epoch", s.epoch}, {"shard", s.shard}, {"sequence", s.sequence}};
}

void from_json(const nlohmann::json& j, LoaderState& s) {
  const auto field = [&](const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned())
      throw DataError(std::string("loader state: `") + key + "` must be a non-negative integer");
    return j[key].get<uint64_t>();
  };
  s.epoch = field("epoch");
  s.shard = field("shard");
  s.sequence = field("sequence");
}

struct DataLoader::Impl {
  LoaderOptions opt;
  std::vector<ShardReader> shards;
  std::vector<uint64_t> sequences;  // per shard, in file order
  uint64_t total = 0;               // sequences per epoch
  uint64_t cursor = 0;              // global index of the next step's first sequence (rank 0's)

  // This epoch's shard order and where each shard starts in it; cached for one epoch.
  uint64_t order_epoch = kNone;
  std::vector<uint32_t> order;
  std::vector<uint64_t> starts;
  // One shard's sequence order for one epoch; cached while the loader stays in that shard.
  uint64_t perm_epoch = kNone, perm_shard = kNone;
  std::vector<uint32_t> perm;
  std::vector<int32_t> row;  // T + 1 tokens

  struct Location {
    uint64_t epoch, shard, sequence;  // shard: position in the epoch's order
  };

  void ensure_order(uint64_t epoch) {
    if (epoch == order_epoch) return;
    order.resize(shards.size());
    std::iota(order.begin(), order.end(), 0u);
    if (opt.shuffle) {
      SplitMix64 rng(SplitMix64::derive({opt.seed, epoch, 0}));
      shuffle_in_place(order, rng);
    }
    starts.assign(1, 0);
    for (uint32_t s : order) starts.push_back(starts.back() + sequences[s]);
    order_epoch = epoch;
  }

  Location locate(uint64_t global) {
    Location at{global / total, 0, 0};
    ensure_order(at.epoch);
    const uint64_t offset = global % total;
    at.shard = uint64_t(std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin() - 1);
    at.sequence = offset - starts[at.shard];
    return at;
  }

  // Index of the `position`-th sequence of shard file `file` in `epoch`'s order.
  uint64_t sequence_index(uint64_t epoch, uint32_t file, uint64_t position) {
    if (!opt.shuffle) return position;
    if (epoch != perm_epoch || file != perm_shard) {
      perm.resize(sequences[file]);
      std::iota(perm.begin(), perm.end(), 0u);
      SplitMix64 rng(SplitMix64::derive({opt.seed, epoch, 1, file}));
      shuffle_in_place(perm, rng);
      perm_epoch = epoch;
      perm_shard = file;
    }
    return perm[position];
  }
};

DataLoader::DataLoader(const std::string& dir, const LoaderOptions& options)
    : DataLoader(list_shards(dir, options.split), options) {}

DataLoader::DataLoader(std::vector<std::string> shard_paths, const LoaderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  check_options(options);
  if (shard_paths.empty()) throw DataError("DataLoader: no shards given");
  if (shard_paths.size() > std::numeric_limits<uint32_t>::max()) throw DataError("DataLoader: too many shards");
  Impl& m = *impl_;
  m.opt = options;
  const auto T = uint64_t(options.seq_len);
  for (const std::string& path : shard_paths) {
    ShardReader reader(path);
    if (reader.size() < T + 1)
      throw DataError(path + ": " + std::to_string(reader.size()) + " tokens, too short for one sequence of " +
                      std::to_string(T + 1) + " tokens");
    if (options.vocab_size > 0) {
      const size_t bad = reader.find_token_at_least(uint64_t(options.vocab_size));
      if (bad < reader.size()) {
        int32_t token = 0;
        reader.read(bad, 1, &token);
        throw DataError(path + ": token " + std::to_string(uint32_t(token)) + " at token offset " + std::to_string(bad) +
                        " (byte " + std::to_string(ShardReader::byte_offset(reader.version(), bad)) +
                        ") is outside the model's vocabulary (vocab_size " + std::to_string(options.vocab_size) + ")");
      }
    }
    m.sequences.push_back((reader.size() - 1) / T);
    m.total += m.sequences.back();
    m.shards.push_back(std::move(reader));
  }
  m.row.resize(T + 1);
}

DataLoader::~DataLoader() = default;
DataLoader::DataLoader(DataLoader&&) noexcept = default;

void DataLoader::next(int32_t* inputs, int32_t* targets) {
  Impl& m = *impl_;
  const auto T = size_t(m.opt.seq_len), B = size_t(m.opt.batch), R = size_t(m.opt.world);
  for (size_t b = 0; b < B; ++b) {
    const Impl::Location at = m.locate(m.cursor + b * R + size_t(m.opt.rank));
    const uint32_t file = m.order[at.shard];
    const uint64_t j = m.sequence_index(at.epoch, file, at.sequence);
    m.shards[file].read(j * T, T + 1, m.row.data());
    std::copy(m.row.begin(), m.row.end() - 1, inputs + b * T);
    std::copy(m.row.begin() + 1, m.row.end(), targets + b * T);
  }
  m.cursor += B * R;
}

LoaderState DataLoader::state() const {
  const Impl::Location at = impl_->locate(impl_->cursor);
  return LoaderState{at.epoch, at.shard, at.sequence};
}

void DataLoader::restore(const LoaderState& s) {
  Impl& m = *impl_;
  if (s.shard >= m.shards.size())
    throw DataError("loader state: shard " + std::to_string(s.shard) + " out of range (" +
                    std::to_string(m.shards.size()) + " shards)");
  if (s.epoch > (kNone - m.total) / m.total) throw DataError("loader state: epoch " + std::to_string(s.epoch) + " out of range");
  m.ensure_order(s.epoch);
  const uint64_t count = m.sequences[m.order[s.shard]];
  if (s.sequence >= count)
    throw DataError("loader state: sequence " + std::to_string(s.sequence) + " out of range (shard " +
                    std::to_string(s.shard) + " of epoch " + std::to_string(s.epoch) + " holds " +
                    std::to_string(count) + " sequences of length " + std::to_string(m.opt.seq_len + 1) + ")");
  m.cursor = s.epoch * m.total + m.starts[s.shard] + s.sequence;
}

uint64_t DataLoader::sequences_per_epoch() const {
  const auto R = uint64_t(impl_->opt.world), r = uint64_t(impl_->opt.rank);
  return (impl_->total + R - 1 - r) / R;
}

uint64_t DataLoader::epoch_sequences() const { return impl_->total; }

const LoaderOptions& DataLoader::options() const { return impl_->opt; }

}  // namespace merino

#include "search/latency_table.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "base/atomic_file.h"
#include "base/errors.h"

namespace merino::search {
namespace {

constexpr const char* kFormat = "merino-latency-table-1";

struct KindNames {
  OpKind kind;
  const char* op;
  const char* a;
  const char* b;
};
constexpr KindNames kKinds[] = {
    {OpKind::Vocab, "vocab", "d_model", "vocab_size"},
    {OpKind::Projection, "projection", "d_in", "d_out"},
    {OpKind::Attention, "attention", "d_model", "n_heads"},
    {OpKind::Ffn, "ffn", "d_model", "ffn_dim"},
    {OpKind::Final, "final", "d_model", "d_embed"},
};

const KindNames& names_of(OpKind kind) {
  for (const KindNames& k : kKinds)
    if (k.kind == kind) return k;
  throw std::logic_error("latency table: unnamed op kind");
}

int dimension(const nlohmann::json& entry, const char* key, const std::string& where) {
  const auto it = entry.find(key);
  if (it == entry.end() || !it->is_number_integer() || *it < 1 || *it > (1 << 24))
    throw ConfigError(where + std::string(key) + " must be an integer from 1 to 16777216");
  return it->get<int>();
}

Op parse_op(const nlohmann::json& entry, const std::string& where) {
  if (!entry.is_object()) throw ConfigError(where + "not a JSON object");
  const auto op = entry.find("op");
  for (const KindNames& k : kKinds)
    if (op != entry.end() && *op == k.op)
      return {k.kind, dimension(entry, "seq_len", where), dimension(entry, k.a, where),
              dimension(entry, k.b, where)};
  std::string known;
  for (const KindNames& k : kKinds) known += (known.empty() ? "" : ", ") + std::string(k.op);
  throw ConfigError(where + "op must be one of " + known);
}

}  // namespace

std::string latency_table_json(const LatencyTable& table) {
  // one entry per line, "op" first: a table of hundreds of entries stays readable and diffable
  std::string out = "{\"format\": \"" + std::string(kFormat) +
                    "\", \"threads\": " + std::to_string(table.threads) + ", \"entries\": [";
  const char* separator = "\n";
  for (const auto& [op, seconds] : table.seconds) {
    const KindNames& k = names_of(op.kind);
    const nlohmann::ordered_json entry = {
        {"op", k.op}, {"seq_len", op.seq_len}, {k.a, op.a}, {k.b, op.b}, {"seconds", seconds}};
    out += separator + entry.dump();
    separator = ",\n";
  }
  return out + "\n]}\n";
}

LatencyTable load_latency_table(const std::string& file, int threads) {
  LatencyTable table;
  table.threads = threads;
  if (!std::filesystem::exists(file)) return table;
  std::ifstream in(file);
  if (!in) throw ConfigError(file + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(file + ": not JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    throw ConfigError(file + ": not a latency table (\"format\" must be \"" + kFormat + "\")");
  if (!j.contains("threads") || !j["threads"].is_number_integer())
    throw ConfigError(file + ": \"threads\" must be an integer");
  if (j["threads"] != threads)
    throw ConfigError(file + ": timed with OMP_NUM_THREADS=" + j["threads"].dump() +
                      ", this run has " + std::to_string(threads) + " (set OMP_NUM_THREADS=" +
                      j["threads"].dump() + " or use another cache file)");
  if (!j.contains("entries") || !j["entries"].is_array())
    throw ConfigError(file + ": \"entries\" must be an array");
  size_t index = 0;
  for (const nlohmann::json& entry : j["entries"]) {
    const std::string where = file + ": entry " + std::to_string(++index) + ": ";
    const Op op = parse_op(entry, where);
    const auto seconds = entry.find("seconds");
    if (seconds == entry.end() || !seconds->is_number() || !std::isfinite(seconds->get<double>()) ||
        seconds->get<double>() <= 0)
      throw ConfigError(where + "seconds must be a positive number");
    if (!table.seconds.emplace(op, seconds->get<double>()).second)
      throw ConfigError(where + "the same operation appears earlier in the file");
  }
  return table;
}

void save_latency_table(const LatencyTable& table, const std::string& file) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw std::runtime_error(parent.string() + ": cannot create folder: " + ec.message());
  write_file_atomically(file, latency_table_json(table));
}

}  // namespace merino::search

// The latency lookup table of `merino search --measure`: seconds per operation of a batch-1
// forward pass, keyed by the operation's shape, as measured on this CPU (search/op_timer.h).
// Saved as JSON (docs/NAS.md, "Measured latency") so a later search reuses the measurements
// and, given the same table and seed, repeats the same search.
#pragma once
#include <map>
#include <string>
#include <tuple>

namespace merino::search {

// The parts of Model<float>::forward that a candidate's shape selects. Every kind has two
// dimensions besides the sequence length, named in the JSON as listed.
enum class OpKind {
  Vocab,       // d_model E, vocab_size V: token + position embedding, tied LM head, loss
  Projection,  // d_in, d_out: a block's proj_in (with bias) where the width changes
  Attention,   // d_model C, n_heads H: qkv, causal attention, out proj, residual + LayerNorm
  Ffn,         // d_model C, ffn_dim F: fc, GELU, proj, residual + LayerNorm
  Final,       // d_model Cf, d_embed E: one unfused LayerNorm (the first layer's; the final
               // one is fused into the last residual add), and lm_proj when Cf != E
};

struct Op {
  OpKind kind;
  int seq_len;
  int a, b;  // the kind's two dimensions, in the order listed above

  bool operator<(const Op& o) const {
    return std::tie(kind, seq_len, a, b) < std::tie(o.kind, o.seq_len, o.a, o.b);
  }
  bool operator==(const Op& o) const {
    return kind == o.kind && seq_len == o.seq_len && a == o.a && b == o.b;
  }
};

struct LatencyTable {
  int threads = 1;                  // OpenMP threads the entries were timed with
  std::map<Op, double> seconds;     // median wall time of one run
};

// A table holds only one thread count: timings with other counts are not comparable.
// A missing file is an empty table. Anything else wrong throws ConfigError "FILE: problem".
LatencyTable load_latency_table(const std::string& file, int threads);
// Writes atomically (temporary file + rename); entries in key order, so equal tables give
// equal files.
void save_latency_table(const LatencyTable& table, const std::string& file);
std::string latency_table_json(const LatencyTable& table);

}  // namespace merino::search

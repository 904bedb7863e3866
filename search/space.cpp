#include "search/space.h"

#include "model/yaml_reader.h"

namespace merino::search {

bool operator==(const Candidate& a, const Candidate& b) {
  if (a.n_blocks != b.n_blocks) return false;
  for (int i = 0; i < a.n_blocks; ++i) {
    const BlockGene &x = a.blocks[i], &y = b.blocks[i];
    if (x.width != y.width || x.heads != y.heads || x.ffn_halves != y.ffn_halves ||
        x.depth != y.depth)
      return false;
  }
  return true;
}

void check_space(const SearchSpace& s) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw ConfigError("search space: " + what);
  };
  need(s.vocab_size >= 2, "vocab size must be at least 2");
  need(s.seq_len >= 1, "sequence length must be at least 1");
  need(s.n_blocks >= 1 && s.n_blocks <= kMaxBlocks,
       "blocks must be between 1 and " + std::to_string(kMaxBlocks));
  need(s.min_head_dim >= 8 && s.min_head_dim % 8 == 0 && s.max_head_dim % 8 == 0 &&
           s.min_head_dim <= s.max_head_dim,
       "head sizes must be multiples of 8 with min <= max");
  need(s.min_width >= s.min_head_dim && s.min_width <= s.max_width,
       "width bounds must satisfy head size <= min <= max");
  need(s.min_ffn_halves >= 1 && s.min_ffn_halves <= s.max_ffn_halves,
       "FFN ratio bounds out of order");
  need(s.max_depth >= 1, "max depth must be at least 1");
}

Candidate smallest_candidate(const SearchSpace& s) {
  BlockGene b;
  b.width = (s.min_width + s.min_head_dim - 1) / s.min_head_dim * s.min_head_dim;
  b.heads = b.width / s.min_head_dim;
  b.ffn_halves = s.min_ffn_halves;
  b.depth = 1;
  Candidate c;
  c.n_blocks = s.n_blocks;
  for (int i = 0; i < c.n_blocks; ++i) c.blocks[i] = b;
  return c;
}

bool in_space(const Candidate& c, const SearchSpace& s) {
  if (c.n_blocks != s.n_blocks) return false;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& b = c.blocks[i];
    if (b.heads < 1 || b.width % b.heads != 0) return false;
    const int hd = b.head_dim();
    if (hd % 8 != 0 || hd < s.min_head_dim || hd > s.max_head_dim) return false;
    if (b.width < s.min_width || b.width > s.max_width) return false;
    if (b.ffn_halves < s.min_ffn_halves || b.ffn_halves > s.max_ffn_halves) return false;
    if (b.depth < 1 || b.depth > s.max_depth) return false;
  }
  return true;
}

ModelConfig to_model_config(const Candidate& c, const SearchSpace& s, const std::string& name) {
  ModelConfig m;
  m.name = name;
  m.vocab_size = s.vocab_size;
  m.context_length = s.seq_len;
  m.norm = NormKind::LayerNorm;
  m.activation = ActivationKind::GELU;
  m.position = PositionKind::Learned;
  m.bias = true;
  m.tie_embeddings = true;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& g = c.blocks[i];
    BlockConfig b;
    b.layers = g.depth;
    b.d_model = g.width;
    b.n_heads = g.heads;
    b.n_kv_heads = g.heads;
    b.ffn_dim = g.ffn_dim();
    b.share = true;
    m.blocks.push_back(b);
  }
  return m;
}

}  // namespace merino::search

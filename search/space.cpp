#include "search/space.h"

#include <cstdio>
#include <string>

#include "base/errors.h"

namespace merino::search {
namespace {

std::string ratio_text(int halves) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", halves / 2.0);
  return buf;
}

// The smallest head size of the space that divides `width`; 0 if none does.
int smallest_head_dim(int width, const SearchSpace& s) {
  for (int hd = s.min_head_dim; hd <= s.max_head_dim; hd += s.head_step)
    if (width % hd == 0) return hd;
  return 0;
}

}  // namespace

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
  need(s.head_step >= 8 && s.head_step % 8 == 0, "the head step must be a multiple of 8");
  need(s.min_head_dim >= s.head_step && s.min_head_dim % s.head_step == 0 &&
           s.max_head_dim % s.head_step == 0 && s.min_head_dim <= s.max_head_dim,
       "head sizes must be multiples of the head step with min <= max");
  need(s.min_width >= s.min_head_dim && s.min_width <= s.max_width,
       "width bounds must satisfy head size <= min <= max");
  need(s.min_ffn_halves >= 1 && s.min_ffn_halves <= s.max_ffn_halves,
       "FFN ratio bounds out of order");
  need(s.max_depth >= 1, "max depth must be at least 1");
  need(s.max_total_depth >= s.n_blocks, "the total depth cap must allow one layer per block");
  need(s.embed_width == 0 || (s.embed_width >= s.min_width && s.embed_width <= s.max_width &&
                              smallest_head_dim(s.embed_width, s) != 0),
       "embedding width " + std::to_string(s.embed_width) + " must be from " +
           std::to_string(s.min_width) + " to " + std::to_string(s.max_width) +
           " and a whole number of heads of a size from " + std::to_string(s.min_head_dim) +
           " to " + std::to_string(s.max_head_dim) + " in steps of " + std::to_string(s.head_step));
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
  if (s.embed_width != 0) {
    c.blocks[0].width = s.embed_width;
    c.blocks[0].heads = s.embed_width / smallest_head_dim(s.embed_width, s);
  }
  return c;
}

bool in_space(const Candidate& c, const SearchSpace& s) {
  if (c.n_blocks != s.n_blocks) return false;
  if (s.embed_width != 0 && c.blocks[0].width != s.embed_width) return false;
  int total_depth = 0;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& b = c.blocks[i];
    if (b.heads < 1 || b.width % b.heads != 0) return false;
    const int hd = b.head_dim();
    if (hd % s.head_step != 0 || hd < s.min_head_dim || hd > s.max_head_dim) return false;
    if (b.width < s.min_width || b.width > s.max_width) return false;
    if (b.ffn_halves < s.min_ffn_halves || b.ffn_halves > s.max_ffn_halves) return false;
    if (b.depth < 1 || b.depth > s.max_depth) return false;
    total_depth += b.depth;
  }
  return total_depth <= s.max_total_depth;
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
    b.share = s.share && g.depth > 1;
    m.blocks.push_back(b);
  }
  return m;
}

SearchSpace space_for(const ModelConfig& m) {
  SearchSpace s;
  s.vocab_size = m.vocab_size;
  s.seq_len = m.context_length;
  s.n_blocks = int(m.blocks.size());
  s.max_total_depth = s.n_blocks * s.max_depth;
  for (const BlockConfig& b : m.blocks) s.share = s.share || (b.share && b.layers > 1);
  return s;
}

Candidate from_model_config(const ModelConfig& m, const SearchSpace& s) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw ConfigError("not in the search space: " + what);
  };
  need(m.vocab_size == s.vocab_size && m.context_length == s.seq_len,
       "vocabulary and context length differ from the space's");
  need(!m.blocks.empty() && m.blocks.size() <= size_t(kMaxBlocks),
       std::to_string(m.blocks.size()) + " blocks, the search has 1 to " +
           std::to_string(kMaxBlocks));
  need(int(m.blocks.size()) == s.n_blocks,
       std::to_string(m.blocks.size()) + " blocks, the space has " + std::to_string(s.n_blocks));
  need(m.norm == NormKind::LayerNorm && m.activation == ActivationKind::GELU &&
           m.position == PositionKind::Learned && m.position_offset == 0 && m.bias &&
           m.tie_embeddings,
       "the search's models are GPT-2 style (layernorm, gelu, learned positions without offset, "
       "bias, tied embeddings)");
  Candidate c;
  c.n_blocks = s.n_blocks;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockConfig& b = m.blocks[i];
    const std::string at = "block " + std::to_string(i + 1) + ": ";
    need(b.layers == 1 || b.share == s.share,
         at + (s.share ? "its layers must share one parameter set (share: true), as the "
                         "space's blocks do"
                       : "its layers must each have their own parameters (share: false), as "
                         "the space's blocks do"));
    need(b.repeat == 1, at + "repeat must be 1");
    need(b.n_kv_heads == b.n_heads, at + "grouped-query attention (n_kv_heads < n_heads)");
    BlockGene& g = c.blocks[i];
    g.width = b.d_model;
    g.heads = b.n_heads;
    g.depth = b.layers;
    need(g.heads >= 1 && g.width % g.heads == 0 && g.head_dim() % s.head_step == 0 &&
             g.head_dim() >= s.min_head_dim && g.head_dim() <= s.max_head_dim,
         at + "head size must be a multiple of " + std::to_string(s.head_step) + " from " +
             std::to_string(s.min_head_dim) + " to " + std::to_string(s.max_head_dim));
    need(g.width >= s.min_width && g.width <= s.max_width,
         at + "d_model must be from " + std::to_string(s.min_width) + " to " +
             std::to_string(s.max_width));
    need(g.depth >= 1 && g.depth <= s.max_depth,
         at + "layers must be from 1 to " + std::to_string(s.max_depth));
    for (int h = s.min_ffn_halves; h <= s.max_ffn_halves && g.ffn_halves == 0; ++h) {
      BlockGene t = g;
      t.ffn_halves = h;
      if (t.ffn_dim() == b.ffn_dim) g.ffn_halves = h;
    }
    need(g.ffn_halves != 0, at + "ffn_dim " + std::to_string(b.ffn_dim) +
                                " is not R x d_model rounded to a multiple of 8 for R from " +
                                ratio_text(s.min_ffn_halves) + " to " +
                                ratio_text(s.max_ffn_halves) + " in steps of 0.5");
  }
  return c;
}

}  // namespace merino::search

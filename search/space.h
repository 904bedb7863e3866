// The search space: N blocks, each with its own width E_i, head count, FFN ratio R_i and depth
// L_i (MeRino's adaptive block-wise design). By default each of a block's L_i layers has its own
// parameters; with `share` every block is one parameter set run L_i times (MeRino's sharing), so
// depth costs FLOPs and latency but no parameters. The rest of the model is fixed GPT-2 style
// (MeRino uses GPT-2 BPE): LayerNorm, GELU, learned positions, biases, tied head.
#pragma once
#include <array>
#include <string>

#include "model/config.h"

namespace merino::search {

constexpr int kMaxBlocks = 8;

struct BlockGene {
  int width = 0;  // d_model, a multiple of the head size (itself a multiple of the head step)
  int heads = 0;
  int ffn_halves = 0;  // FFN ratio in steps of 0.5: R = ffn_halves / 2
  int depth = 0;       // executed layers of the block's one parameter set

  int head_dim() const { return width / heads; }
  double ffn_ratio() const { return ffn_halves / 2.0; }
  // R x E rounded to a multiple of 8, so every matrix dimension stays a multiple of 8
  int ffn_dim() const { return (ffn_halves * width / 2 + 4) / 8 * 8; }
};

struct Candidate {
  int n_blocks = 0;
  std::array<BlockGene, kMaxBlocks> blocks{};
};
bool operator==(const Candidate& a, const Candidate& b);

// Bounds of the space and the fixed parts of the model. Head sizes are multiples of head_step
// from min_head_dim to max_head_dim: by default 32, 48, ..., 128, the head sizes the CUDA
// attention kernels support (kernels/cuda/attention.cuh), so every model the search writes can
// be trained with `run.device: cuda`.
struct SearchSpace {
  int vocab_size = 50257;  // GPT-2 BPE
  int seq_len = 1024;      // context length: position table rows and attention span
  int n_blocks = 3;
  int min_width = 64, max_width = 2048;
  int min_head_dim = 32, max_head_dim = 128;
  int head_step = 16;  // a multiple of 8; min_head_dim and max_head_dim are multiples of it
  int min_ffn_halves = 2, max_ffn_halves = 12;  // R from 1.0 to 6.0
  int max_depth = 64;
  // Executed layers of the whole model (sum of L_i): a cap on depth whatever the budgets.
  int max_total_depth = 48;
  bool share = false;  // every block one parameter set run L_i times
  // 0: the search chooses every width. Otherwise the first block's width, which is also the
  // width of the token and position tables and of the tied head, is fixed at this value: the
  // entropy does not count those tables, so when parameters bind a free search narrows them to
  // buy depth (docs/NAS.md, "Results").
  int embed_width = 0;
};

// Throws ConfigError naming the bad bound.
void check_space(const SearchSpace& space);
// Every block at the smallest width, head count, ratio and depth: where the search starts.
Candidate smallest_candidate(const SearchSpace& space);
bool in_space(const Candidate& c, const SearchSpace& space);
// The trainable model the candidate describes (what `merino search` writes as YAML).
ModelConfig to_model_config(const Candidate& c, const SearchSpace& space, const std::string& name);

// The default bounds with the model's vocabulary, context length, block count and sharing (shared
// when any block runs one parameter set more than once), and no cap on total depth: the space in
// which `merino search --score` scores a model.
SearchSpace space_for(const ModelConfig& m);
// The inverse of to_model_config: the candidate a model describes. Throws ConfigError naming the
// first thing outside `space` (not GPT-2 style, a block whose sharing differs from the space's, a
// head size, width, FFN size or depth the search cannot produce).
Candidate from_model_config(const ModelConfig& m, const SearchSpace& space);

}  // namespace merino::search

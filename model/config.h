// Model architecture as one struct covering GPT-2/OPT, LLaMA/MobileLLM and MeRino shapes.
// A model is a list of blocks; each block has its own width, heads, FFN size and depth (MeRino's
// adaptive block-wise design). A uniform model is one block. See docs/MODEL.md.
#pragma once
#include <string>
#include <vector>

namespace merino {

class YamlMap;  // model/yaml_reader.h: only the parser needs yaml-cpp

enum class NormKind { LayerNorm, RMSNorm };
enum class ActivationKind { GELU, ReLU, SwiGLU };
enum class PositionKind { Learned, RoPE };

struct BlockConfig {
  int layers = 0;      // executed layers = layers * repeat
  int d_model = 0;
  int n_heads = 0;
  int n_kv_heads = 0;  // < n_heads: grouped-query attention
  int ffn_dim = 0;     // hidden width of the MLP (per branch for SwiGLU)
  bool share = false;  // true: all `layers` use one parameter set (MeRino)
  int repeat = 1;      // each layer runs `repeat` times in a row (MobileLLM-LS: 2)

  int head_dim() const { return d_model / n_heads; }
  int param_sets() const { return share ? 1 : layers; }
  int executed_layers() const { return layers * repeat; }
  int qkv_dim() const { return (n_heads + 2 * n_kv_heads) * head_dim(); }
};

struct ModelConfig {
  std::string name;
  int vocab_size = 0;
  int context_length = 0;
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  ActivationKind activation = ActivationKind::GELU;
  PositionKind position = PositionKind::Learned;
  int position_offset = 0;  // learned positions: rows = context_length + offset (OPT: 2)
  double rope_theta = 10000.0;
  bool bias = true;            // biases on every linear layer (LayerNorm always has its bias)
  bool tie_embeddings = true;  // LM head shares the token embedding
  double init_std = 0.02;
  std::vector<BlockConfig> blocks;
  // In memory only, never a YAML key: the LM head, the logits and the loss work on
  // padded_vocab() columns, vocab_size rounded up to this multiple, so the head's GEMMs and the
  // loss get 16-byte-aligned rows (GPT-2's 50,257 -> 50,304). Padding rows of the head are zero
  // and padding columns take no probability. 1 turns padding off (tests compare the two).
  int vocab_multiple = 128;

  int padded_vocab() const {
    return (vocab_size + vocab_multiple - 1) / vocab_multiple * vocab_multiple;
  }

  int embed_dim() const { return blocks.front().d_model; }
  int final_dim() const { return blocks.back().d_model; }
  int executed_layers() const;
  int max_width() const;
  bool uses_hf_gpt2_names() const { return position == PositionKind::Learned; }
};

// Reads the `model` section of a config file (a file may also hold training sections).
ModelConfig load_model_config(const std::string& file);
// Reads a `model` mapping that was already parsed; `map` carries the file name for errors.
ModelConfig parse_model_config(const YamlMap& map);

const char* to_string(NormKind k);
const char* to_string(ActivationKind k);
const char* to_string(PositionKind k);

}  // namespace merino

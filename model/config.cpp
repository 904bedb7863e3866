#include "model/config.h"

#include <algorithm>
#include <cmath>

#include "model/yaml_reader.h"

namespace merino {
namespace {

constexpr long long kMaxDim = 1 << 20;

// Keys a block may have; a uniform model may put them directly under `model`.
#define MERINO_BLOCK_KEYS "layers", "d_model", "n_heads", "n_kv_heads", "ffn_dim", "ffn_ratio", \
                          "share", "repeat"

BlockConfig parse_block(const YamlMap& m, bool rope) {
  BlockConfig b;
  b.layers = int(m.get_int("layers", 1, 100000));
  b.d_model = int(m.get_int("d_model", 1, kMaxDim));
  b.n_heads = int(m.get_int("n_heads", 1, kMaxDim));
  b.n_kv_heads = int(m.get_int("n_kv_heads", 1, kMaxDim, b.n_heads));
  if (b.d_model % b.n_heads != 0)
    m.fail("n_heads", std::to_string(b.n_heads) + " must divide d_model (" +
                          std::to_string(b.d_model) + ")");
  if (b.n_heads % b.n_kv_heads != 0)
    m.fail("n_kv_heads", std::to_string(b.n_kv_heads) + " must divide n_heads (" +
                             std::to_string(b.n_heads) + ")");
  if (rope && b.head_dim() % 2 != 0)
    m.fail("n_heads", "RoPE needs an even head size, d_model / n_heads = " +
                          std::to_string(b.head_dim()));
  const bool has_dim = m.has("ffn_dim"), has_ratio = m.has("ffn_ratio");
  if (has_dim == has_ratio)
    m.fail_at(m.yaml(), m.key_path("ffn_dim"), "give exactly one of ffn_dim or ffn_ratio");
  if (has_dim) {
    b.ffn_dim = int(m.get_int("ffn_dim", 1, kMaxDim));
  } else {
    const double r = m.get_double("ffn_ratio", 1e-3, 64.0);
    b.ffn_dim = int(std::lround(r * b.d_model));
    if (b.ffn_dim < 1) m.fail("ffn_ratio", "gives an FFN width below 1");
  }
  b.share = m.get_bool("share", false);
  b.repeat = int(m.get_int("repeat", 1, 64, 1));
  return b;
}

}  // namespace

int ModelConfig::executed_layers() const {
  int n = 0;
  for (const auto& b : blocks) n += b.executed_layers();
  return n;
}

int ModelConfig::max_width() const {
  int w = 0;
  for (const auto& b : blocks) w = std::max(w, b.d_model);
  return w;
}

ModelConfig parse_model_config(const YamlMap& m) {
  m.require_known_keys({"name", "vocab_size", "context_length", "norm", "norm_eps", "activation",
                        "position", "position_offset", "rope_theta", "bias", "tie_embeddings",
                        "init_std", "blocks", MERINO_BLOCK_KEYS});
  ModelConfig c;
  c.name = m.get_string("name", "");
  c.vocab_size = int(m.get_int("vocab_size", 2, 1 << 24));
  c.context_length = int(m.get_int("context_length", 1, 1 << 20));
  c.norm = m.get_choice("norm", {"layernorm", "rmsnorm"}) == "layernorm" ? NormKind::LayerNorm
                                                                         : NormKind::RMSNorm;
  c.norm_eps = m.get_double("norm_eps", 1e-12, 1.0, 1e-5);
  const std::string act = m.get_choice("activation", {"gelu", "relu", "swiglu"});
  c.activation = act == "gelu" ? ActivationKind::GELU
                 : act == "relu" ? ActivationKind::ReLU
                                 : ActivationKind::SwiGLU;
  c.position = m.get_choice("position", {"learned", "rope"}) == "learned" ? PositionKind::Learned
                                                                          : PositionKind::RoPE;
  c.position_offset = int(m.get_int("position_offset", 0, 1 << 20, 0));
  if (c.position == PositionKind::RoPE && m.has("position_offset"))
    m.fail("position_offset", "applies to learned positions only");
  c.rope_theta = m.get_double("rope_theta", 1.0, 1e12, 10000.0);
  if (c.position == PositionKind::Learned && m.has("rope_theta"))
    m.fail("rope_theta", "applies to position: rope only");
  c.bias = m.get_bool("bias");
  c.tie_embeddings = m.get_bool("tie_embeddings");
  c.init_std = m.get_double("init_std", 1e-8, 10.0, 0.02);

  const bool rope = c.position == PositionKind::RoPE;
  const bool flat = m.has("layers") || m.has("d_model") || m.has("n_heads");
  if (m.has("blocks")) {
    if (flat) m.fail("blocks", "give either a list of blocks or layers/d_model/n_heads, not both");
    const YAML::Node list = m.node("blocks");
    if (!list.IsSequence() || list.size() == 0) m.fail("blocks", "must be a non-empty list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string path = m.key_path("blocks") + "[" + std::to_string(i) + "]";
      if (!list[i].IsMap()) m.fail_at(list[i], path, "must be a mapping");
      YamlMap bm(list[i], m.file(), path);
      bm.require_known_keys({MERINO_BLOCK_KEYS});
      c.blocks.push_back(parse_block(bm, rope));
    }
  } else {
    c.blocks.push_back(parse_block(m, rope));
  }
  return c;
}

#undef MERINO_BLOCK_KEYS

ModelConfig load_model_config(const std::string& file) {
  const YamlMap root = load_yaml_file(file);
  return parse_model_config(root.map("model"));
}

const char* to_string(NormKind k) { return k == NormKind::LayerNorm ? "layernorm" : "rmsnorm"; }
const char* to_string(ActivationKind k) {
  return k == ActivationKind::GELU ? "gelu" : k == ActivationKind::ReLU ? "relu" : "swiglu";
}
const char* to_string(PositionKind k) { return k == PositionKind::Learned ? "learned" : "rope"; }

}  // namespace merino

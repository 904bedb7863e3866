#include "search/objective.h"

#include <cmath>

#include "model/yaml_reader.h"

namespace merino::search {
namespace {

// Each executed layer has four linear maps on its residual branches: value and output
// projections (fan-in E each) in attention, up and down projections (fan-in E and R*E) in the
// FFN. Each Gaussian channel adds log(fan-in) nats; q and k only steer the attention weights.
struct LayerEntropy {
  double attention, ffn;
};
LayerEntropy layer_entropy(const BlockGene& b) {
  const double log_e = std::log(double(b.width));
  return {2 * log_e, log_e + std::log(double(b.ffn_dim()))};
}

// Shared by every variant: effectiveness from the unweighted entropy, and the depth penalty.
ObjectiveValue finish(const Candidate& c, const ObjectiveParams& p, double weighted_entropy) {
  double unweighted = 0, depth = 0, depth_sq = 0;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& b = c.blocks[i];
    const LayerEntropy h = layer_entropy(b);
    unweighted += b.depth * (h.attention + h.ffn);
    depth += b.depth;
    depth_sq += double(b.depth) * b.depth;
  }
  const double maps = 4 * depth;
  // geometric mean fan-in = exp(mean log fan-in) = exp(unweighted / maps)
  const double rho = maps / std::exp(unweighted / maps);
  const double mean = depth / c.n_blocks;
  const double cv2 = depth_sq / c.n_blocks / (mean * mean) - 1;  // variance / mean^2
  ObjectiveValue v;
  v.entropy = weighted_entropy;
  v.rho = rho;
  v.effective = rho <= p.rho_max;
  v.score = weighted_entropy * std::exp(-p.depth_penalty * cv2);
  return v;
}

// MeRino's sub-space entropy: attention and FFN sub-spaces weighted separately.
ObjectiveValue subspace_entropy(const Candidate& c, const ObjectiveParams& p) {
  double h = 0;
  for (int i = 0; i < c.n_blocks; ++i) {
    const LayerEntropy e = layer_entropy(c.blocks[i]);
    h += c.blocks[i].depth * (p.attention_weight * e.attention + p.ffn_weight * e.ffn);
  }
  return finish(c, p, h);
}

// Ablation: the Zen-NAS / DeepMAD MLP view, which sees only the FFN chain E -> R*E -> E.
ObjectiveValue ffn_only_entropy(const Candidate& c, const ObjectiveParams& p) {
  double h = 0;
  for (int i = 0; i < c.n_blocks; ++i) h += c.blocks[i].depth * layer_entropy(c.blocks[i]).ffn;
  return finish(c, p, h);
}

}  // namespace

const std::vector<Objective>& objectives() {
  static const std::vector<Objective> list = {
      {"subspace", subspace_entropy},  // MeRino: attention + FFN sub-spaces
      {"ffn-only", ffn_only_entropy},  // Zen-NAS/DeepMAD MLP view, blind to attention
  };
  return list;
}

const Objective& find_objective(const std::string& name) {
  std::string known;
  for (const Objective& o : objectives()) {
    if (name == o.name) return o;
    known += (known.empty() ? "" : ", ") + std::string(o.name);
  }
  throw ConfigError("--objective: unknown objective '" + name + "' (known: " + known + ")");
}

}  // namespace merino::search

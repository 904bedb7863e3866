#include "search/objective.h"

#include <cmath>

#include "base/errors.h"

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

// The width projections on the residual path: a block's proj_in where the width changes (fan-in
// the previous width) and lm_proj into the tied head when the last width differs from the first
// (fan-in the last width). Each is one Gaussian channel for the whole model, so it adds
// log(fan-in) once, not per executed layer (docs/NAS.md, "Width projections").
struct ProjectionEntropy {
  double entropy = 0;
  int maps = 0;
};
ProjectionEntropy projection_entropy(const Candidate& c) {
  ProjectionEntropy p;
  int prev = c.blocks[0].width;
  for (int i = 0; i < c.n_blocks; ++i) {
    const int w = c.blocks[i].width;
    if (w != prev) {
      p.entropy += std::log(double(prev));
      ++p.maps;
    }
    prev = w;
  }
  if (prev != c.blocks[0].width) {
    p.entropy += std::log(double(prev));
    ++p.maps;
  }
  return p;
}

// Shared by every variant: effectiveness from the unweighted entropy (projections included as
// linear maps on the signal path unless their weight is 0, which gives the objective as it was
// before they were counted), and the depth penalty.
ObjectiveValue finish(const Candidate& c, const ObjectiveParams& p, double weighted_entropy) {
  double unweighted = 0, depth = 0, depth_sq = 0;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& b = c.blocks[i];
    const LayerEntropy h = layer_entropy(b);
    unweighted += b.depth * (h.attention + h.ffn);
    depth += b.depth;
    depth_sq += double(b.depth) * b.depth;
  }
  const ProjectionEntropy proj =
      p.projection_weight != 0 ? projection_entropy(c) : ProjectionEntropy{};
  unweighted += proj.entropy;
  const double maps = 4 * depth + proj.maps;
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
  return finish(c, p, h + p.projection_weight * projection_entropy(c).entropy);
}

// Ablation: the Zen-NAS / DeepMAD MLP view, which sees only the FFN chain E -> R*E -> E.
ObjectiveValue ffn_only_entropy(const Candidate& c, const ObjectiveParams& p) {
  double h = 0;
  for (int i = 0; i < c.n_blocks; ++i) h += c.blocks[i].depth * layer_entropy(c.blocks[i]).ffn;
  return finish(c, p, h + p.projection_weight * projection_entropy(c).entropy);
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

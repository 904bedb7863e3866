#include "model/init.h"

#include <cmath>
#include <string>

namespace merino {

double NormalRng::uniform() {
  return (double(bits.next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double NormalRng::normal() {
  if (has_spare) {
    has_spare = false;
    return spare;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform()));
  const double theta = 2.0 * M_PI * uniform();
  spare = r * std::sin(theta);
  has_spare = true;
  return r * std::cos(theta);
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_residual_output(const std::string& name) {
  return ends_with(name, "attn.c_proj.weight") || ends_with(name, "self_attn.o_proj.weight") ||
         ends_with(name, "mlp.c_proj.weight") || ends_with(name, "mlp.down_proj.weight");
}

// The width projections between blocks (proj_in) and into the tied head (lm_proj) sit on the
// residual path itself, not on a branch. At init_std 0.02 a d_in -> d_out map scales the
// stream's variance by d_in * 0.02^2 (0.05 at d_in = 128): a multi-width model starts with a
// shrunken residual stream and near-zero logits, unlike a single-width one. LeCun's fan-in
// init, std 1/sqrt(d_in), keeps the variance (docs/NAS.md, "Width projections").
bool is_width_projection(const std::string& name) {
  return ends_with(name, "proj_in.weight") || name == "lm_proj.weight";
}

}  // namespace

template <class T>
std::vector<T> initial_weights(const ModelConfig& cfg, const ParamLayout& layout, uint64_t seed) {
  std::vector<T> w(layout.total);
  NormalRng rng(seed);
  const double residual_scale = 1.0 / std::sqrt(2.0 * cfg.executed_layers());
  // the token embedding draws first wherever it is stored (last when tied, param_layout.h), so
  // a seed gives the same weights as when it was stored first
  std::vector<const ParamEntry*> order;
  for (const ParamEntry& e : layout.entries)
    if (e.offset == layout.wte) order.insert(order.begin(), &e);
    else order.push_back(&e);
  for (const ParamEntry* entry : order) {
    const ParamEntry& e = *entry;
    T* p = w.data() + e.offset;
    switch (e.role) {
      case ParamRole::Norm:
        for (size_t i = 0; i < e.numel; ++i) p[i] = T(1);
        break;
      case ParamRole::Bias:
        break;  // already zero
      case ParamRole::Embedding:
      case ParamRole::Matrix: {
        const double std = is_width_projection(e.name)
                               ? 1.0 / std::sqrt(double(e.shape.at(1)))  // shape [d_out, d_in]
                               : cfg.init_std * (is_residual_output(e.name) ? residual_scale : 1.0);
        for (size_t i = 0; i < e.numel; ++i) p[i] = T(std * rng.normal());
        break;
      }
    }
  }
  return w;
}

template std::vector<float> initial_weights<float>(const ModelConfig&, const ParamLayout&, uint64_t);
template std::vector<double> initial_weights<double>(const ModelConfig&, const ParamLayout&, uint64_t);

}  // namespace merino

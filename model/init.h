// Initial weights, generated on the host so that every backend starts from the same numbers.
// GPT-2 scheme: N(0, init_std) for matrices and embeddings, output projections of each residual
// branch (attention o_proj, MLP down-projection) scaled by 1/sqrt(2 * executed layers), biases 0,
// norm weights 1. The generator is SplitMix64 + Box-Muller, written out so the values do not
// depend on the standard library's distribution implementation.
#pragma once
#include <cstdint>
#include <vector>

#include "base/splitmix.h"
#include "model/config.h"
#include "model/param_layout.h"

namespace merino {

template <class T>
std::vector<T> initial_weights(const ModelConfig& cfg, const ParamLayout& layout, uint64_t seed);

// Deterministic normal samples (SplitMix64 + Box-Muller): the weight initialisation's, exposed
// for the tests that restate its draws.
struct NormalRng {
  explicit NormalRng(uint64_t seed) : bits(seed) {}
  double uniform();  // (0, 1)
  double normal();
  SplitMix64 bits;
  bool has_spare = false;
  double spare = 0;
};

}  // namespace merino

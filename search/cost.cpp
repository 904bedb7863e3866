#include "search/cost.h"

#include <algorithm>

namespace merino::search {
namespace {

// Roofline time of one kernel plus its fixed dispatch cost.
double kernel_time(const DeviceProfile& d, double flops, double bytes) {
  return std::max(flops / d.peak_flops, bytes / d.bandwidth) + d.kernel_overhead;
}

// One executed GPT-2 layer while decoding one token: LayerNorm, fused qkv, attention over the
// KV cache, output projection (+ residual), LayerNorm, fc (+ GELU), projection (+ residual).
// Each kernel streams its weights (and the cache) once; activations are negligible at batch 1.
double layer_time(const DeviceProfile& d, double C, double F, double T) {
  const double b = d.bytes_per_value;
  return 2 * kernel_time(d, 8 * C, 2 * C * b) +                    // the two LayerNorms
         kernel_time(d, 2 * 3 * C * C, (3 * C * C + 3 * C) * b) +  // qkv
         kernel_time(d, 4 * C * T, 2 * C * T * b) +                // scores and weighted sum
         kernel_time(d, 2 * C * C, (C * C + C) * b) +              // out projection
         kernel_time(d, 2 * F * C, (F * C + F) * b) +              // fc
         kernel_time(d, 2 * F * C, (F * C + C) * b);               // projection
}

}  // namespace

Costs count_costs(const Candidate& c, const SearchSpace& s) {
  const size_t V = size_t(s.vocab_size), T = size_t(s.seq_len);
  const size_t E = size_t(c.blocks[0].width);
  size_t params = V * E + T * E;  // token and position tables
  double executed = 0;            // weights multiplied per token, shared sets once per use
  double attention = 0;
  size_t prev = E;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& g = c.blocks[i];
    const size_t C = size_t(g.width), F = size_t(g.ffn_dim()), L = size_t(g.depth);
    if (C != prev) {  // proj_in [C, prev] with bias
      params += C * prev + C;
      executed += double(C * prev);
    }
    // one layer's set: qkv, out, fc, proj matrices + their biases + two LayerNorms (w and b);
    // a shared block stores it once, an unshared one once per layer
    const size_t matrices = 4 * C * C + 2 * F * C;
    params += (s.share ? 1 : L) * (matrices + (5 * C + F) + 4 * C);
    executed += double(L * matrices);
    attention += double(L) * 4.0 * double(C) * double(T);
    prev = C;
  }
  const size_t Cf = prev;
  params += 2 * Cf;  // final LayerNorm
  if (Cf != E) {  // lm_proj [E, Cf], no bias, before the tied head
    params += E * Cf;
    executed += double(E * Cf);
  }
  executed += double(V * E);  // tied LM head
  return {params, 2.0 * executed + attention, 0.0};
}

Costs estimate_costs(const Candidate& c, const SearchSpace& s, const DeviceProfile& d) {
  Costs costs = count_costs(c, s);
  const double V = s.vocab_size, T = s.seq_len, E = c.blocks[0].width;
  const double b = d.bytes_per_value;
  double latency = kernel_time(d, 0, 2 * E * b);  // embedding rows
  double prev = E;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& g = c.blocks[i];
    const double C = g.width, F = g.ffn_dim();
    if (C != prev) latency += kernel_time(d, 2 * C * prev, (C * prev + C) * b);  // proj_in
    latency += g.depth * layer_time(d, C, F, T);
    prev = C;
  }
  const double Cf = prev;
  latency += kernel_time(d, 8 * Cf, 2 * Cf * b);                   // final LayerNorm
  if (Cf != E) latency += kernel_time(d, 2 * E * Cf, E * Cf * b);  // lm_proj
  latency += kernel_time(d, 2 * V * E, V * E * b);                 // tied LM head
  costs.latency = latency;
  return costs;
}

}  // namespace merino::search

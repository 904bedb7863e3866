#include "search/default_budget.h"

#include "search/cost.h"

namespace merino::search {
namespace {

constexpr int kHeadDim = 64;  // GPT-2's head size, and its width per layer (768 / 12)

ReferenceShape shape_with(int layers, const SearchSpace& space) {
  SearchSpace one = space;
  one.n_blocks = 1;
  one.share = false;
  Candidate c;
  c.n_blocks = 1;
  c.blocks[0] = {kHeadDim * layers, layers, 8, layers};  // FFN ratio 4 = 8 halves
  const Costs costs = count_costs(c, one);
  return {layers, kHeadDim * layers, costs.params, costs.flops};
}

}  // namespace

ReferenceShape reference_shape(double params, const SearchSpace& space) {
  ReferenceShape best = shape_with(1, space);
  for (int layers = 2; kHeadDim * layers <= space.max_width; ++layers) {
    const ReferenceShape s = shape_with(layers, space);
    if (double(s.params) > params) break;
    best = s;
  }
  return best;
}

}  // namespace merino::search

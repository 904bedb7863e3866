// The compute budget a search gets when it is given no FLOP or latency budget. Without one, depth
// is limited only by the effectiveness bound and the depth cap, and with shared blocks depth
// costs no parameters: `--params 64M` alone once gave 102 executed layers and 13x GPT-2-124M's
// FLOPs per token. The default is what the obvious hand design at that parameter count costs, so
// the search must beat it at equal parameters and compute (docs/NAS.md, "Defaults").
#pragma once
#include <cstddef>

#include "search/space.h"

namespace merino::search {

// A GPT-2-style uniform model: `layers` unshared layers of width 64 x layers (GPT-2-124M's
// 12 x 768 aspect ratio), head size 64, FFN ratio 4, at the space's vocabulary and context.
struct ReferenceShape {
  int layers = 0;
  int width = 0;
  size_t params = 0;
  double flops = 0;  // forward FLOPs per token at the space's context length
};

// The largest such shape with at most `params` parameters (at least one layer of width 64, at
// most the space's widest): its forward FLOPs per token are the default FLOP budget.
ReferenceShape reference_shape(double params, const SearchSpace& space);

}  // namespace merino::search

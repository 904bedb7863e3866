// Cost models of a candidate, in closed form from its block shapes so the search can evaluate
// hundreds of thousands of candidates a second. The parameter count is exact (a test holds it
// equal to count_model and build_param_layout on the written model); FLOPs follow count_model.
#pragma once
#include <cstddef>

#include "search/device.h"
#include "search/space.h"

namespace merino::search {

struct Costs {
  size_t params = 0;   // stored parameters
  double flops = 0;    // forward FLOPs per token at context seq_len (as `merino info`)
  double latency = 0;  // seconds for one decode step, batch 1, KV cache at seq_len
};

Costs estimate_costs(const Candidate& c, const SearchSpace& space, const DeviceProfile& device);

}  // namespace merino::search

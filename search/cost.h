// Cost models of a candidate, in closed form from its block shapes so the search can evaluate
// hundreds of thousands of candidates a second. The parameter count is exact (a test holds it
// equal to count_model and build_param_layout on the written model); FLOPs follow count_model.
// Latency comes from a device profile here, or from a table measured on this CPU
// (search/measured_cost.h, `--measure`).
#pragma once
#include <cstddef>

#include "search/device.h"
#include "search/space.h"

namespace merino::search {

struct Costs {
  size_t params = 0;   // stored parameters
  double flops = 0;    // forward FLOPs per token at context seq_len (as `merino info`)
  double latency = 0;  // seconds: one decode step, batch 1, KV cache at seq_len, on a device
                       // profile; with --measure, one forward pass of seq_len tokens, batch 1
};

// Parameters and FLOPs; latency left 0 for the caller's latency source.
Costs count_costs(const Candidate& c, const SearchSpace& space);
// count_costs plus the device profile's latency.
Costs estimate_costs(const Candidate& c, const SearchSpace& space, const DeviceProfile& device);

}  // namespace merino::search

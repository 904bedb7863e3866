// Device profiles for the latency model: a roofline (peak FLOP/s, memory bandwidth) plus a
// fixed cost per kernel, which is what dominates small models at batch 1.
#pragma once
#include <string>
#include <vector>

namespace merino::search {

struct DeviceProfile {
  std::string name;
  double peak_flops = 0;       // dense FLOP/s at the inference precision
  double bandwidth = 0;        // bytes/s from main memory
  double kernel_overhead = 0;  // seconds per kernel (launch or thread-pool dispatch)
  double bytes_per_value = 0;  // weights and KV cache: 2 for fp16/bf16, 4 for fp32
};

const std::vector<DeviceProfile>& device_profiles();
// Throws ConfigError listing the known names.
const DeviceProfile& find_device(const std::string& name);

}  // namespace merino::search

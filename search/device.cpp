#include "search/device.h"

#include "base/errors.h"

namespace merino::search {

// Peaks and bandwidths as in /work/shared/REFERENCE.md (the vendors' data sheets); the phone
// figures and all per-kernel overheads are estimates, documented in docs/NAS.md.
const std::vector<DeviceProfile>& device_profiles() {
  static const std::vector<DeviceProfile> profiles = {
      {"jetson-nano", 0.47e12, 25.6e9, 15e-6, 2},  // fp16
      {"phone-cpu", 153.6e9, 30e9, 5e-6, 4},       // 4x Cortex-A76 at 2.4 GHz, NEON fp32
      {"a100", 312e12, 2.0e12, 5e-6, 2},           // 80GB SXM, bf16
      {"h100", 989e12, 3.35e12, 4e-6, 2},          // SXM, bf16
  };
  return profiles;
}

const DeviceProfile& find_device(const std::string& name) {
  std::string known;
  for (const DeviceProfile& d : device_profiles()) {
    if (d.name == name) return d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  throw ConfigError("--device: unknown device '" + name + "' (known: " + known + ")");
}

}  // namespace merino::search

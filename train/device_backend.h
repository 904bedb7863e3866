// The compute backend a device name selects (`run.device` in a training config, `--device` for
// `merino eval`), and what MFU is measured against on it, for every command to share.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace merino {

struct DeviceBackend {
  std::unique_ptr<Backend<float>> backend;
  void* stream = nullptr;  // the CUDA stream its ops run on (null on the CPU)
  // FLOP/s the backend can reach at best: measured sgemm on the CPU, the CUDA cores' fp32 peak
  double (*peak_flops)(const Backend<float>&) = nullptr;
  // device memory the backend has held at most (allocations and workspaces), 0 where it does not
  // track it (the CPU)
  size_t (*peak_bytes)(const Backend<float>&) = nullptr;
};

// "cpu", or "cuda" on GPU `index` (the local rank). Throws ConfigError for "cuda" in a build
// without CUDA, std::runtime_error when the GPU cannot be used.
DeviceBackend make_device_backend(const std::string& device, int index);

}  // namespace merino

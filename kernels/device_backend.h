// The compute backend a device name selects (`run.device` in a training config, `--device` for
// `merino eval`), in the precision a command runs in (`run.precision`: T = float or bf16), and
// what MFU is measured against on it, for every command to share.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace merino {

template <class T>
struct DeviceBackend {
  std::unique_ptr<Backend<T>> backend;
  void* stream = nullptr;  // the CUDA stream its ops run on (null on the CPU)
  // FLOP/s the backend can reach at best: measured sgemm on the CPU; on a GPU the datasheet's
  // dense peak of the CUDA cores (fp32) or of the bf16 tensor cores (bf16), kernels/peak_flops.h
  double (*peak_flops)(const Backend<T>&) = nullptr;
};

// "cpu", or "cuda" on GPU `index` (the local rank) with the attention kernels `attention`
// names ("v2" or "v1", `run.attention`). Throws ConfigError for "cuda" in a build without
// CUDA, std::runtime_error when the GPU cannot be used.
template <class T>
DeviceBackend<T> make_device_backend(const std::string& device, int index,
                                     const std::string& attention = "v2");

}  // namespace merino

#include "train/device_backend.h"

#include "kernels/cpu/cpu_backend.h"
#include "model/yaml_reader.h"
#include "train/peak_flops.h"
#ifdef MERINO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace merino {

DeviceBackend make_device_backend(const std::string& device, int index) {
  DeviceBackend d;
  if (device == "cpu") {
    d.backend = std::make_unique<CpuBackend<float>>();
    d.peak_flops = [](const Backend<float>&) { return cpu_peak_flops(); };
    d.peak_bytes = [](const Backend<float>&) { return size_t(0); };
    return d;
  }
  if (device != "cuda") throw ConfigError("device: '" + device + "' is not one of: cpu, cuda");
#ifdef MERINO_HAVE_CUDA
  auto be = std::make_unique<CudaBackend>(index);
  d.stream = be->stream_handle();
  d.backend = std::move(be);
  d.peak_flops = [](const Backend<float>& b) { return static_cast<const CudaBackend&>(b).peak_fp32_flops(); };
  d.peak_bytes = [](const Backend<float>& b) { return static_cast<const CudaBackend&>(b).peak_bytes(); };
  return d;
#else
  (void)index;
  throw ConfigError("device: cuda, but this merino was built without CUDA (install the CUDA toolkit "
                    "and reconfigure)");
#endif
}

}  // namespace merino

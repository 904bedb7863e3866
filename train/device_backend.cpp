#include "train/device_backend.h"

#include "kernels/cpu/cpu_backend.h"
#include "model/yaml_reader.h"
#include "train/peak_flops.h"
#ifdef MERINO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace merino {

template <class T>
DeviceBackend<T> make_device_backend(const std::string& device, int index,
                                     const std::string& attention) {
  DeviceBackend<T> d;
  if (device == "cpu") {
    d.backend = std::make_unique<CpuBackend<T>>();
    d.peak_flops = [](const Backend<T>&) { return cpu_peak_flops(); };
    return d;
  }
  if (device != "cuda") throw ConfigError("device: '" + device + "' is not one of: cpu, cuda");
#ifdef MERINO_HAVE_CUDA
  auto be = std::make_unique<CudaBackend<T>>(
      index, attention == "v1" ? cuda::AttentionKernel::v1 : cuda::AttentionKernel::v2);
  d.stream = be->stream_handle();
  d.backend = std::move(be);
  d.peak_flops = [](const Backend<T>& b) { return static_cast<const CudaBackend<T>&>(b).peak_flops(); };
  return d;
#else
  (void)index;
  (void)attention;
  throw ConfigError("device: cuda, but this merino was built without CUDA (install the CUDA toolkit "
                    "and reconfigure)");
#endif
}

template DeviceBackend<float> make_device_backend<float>(const std::string&, int,
                                                        const std::string&);
template DeviceBackend<bf16> make_device_backend<bf16>(const std::string&, int,
                                                       const std::string&);

}  // namespace merino

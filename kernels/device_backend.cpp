#include "kernels/device_backend.h"

#include "base/errors.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/peak_flops.h"
#ifdef MERINO_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"
#endif

namespace merino {

#ifdef MERINO_HAVE_CUDA
// The datasheet peak of the GPU the backend made current (peak_flops.h says why not the
// clock-based one), or the clock-based one for a GPU without a known datasheet figure.
template <class T>
double cuda_mfu_peak_flops(const Backend<T>& b) {
  int device = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&p, device) == cudaSuccess) {
    const double sheet = datasheet_gpu_peak_flops(p.name, p.major, p.minor, p.multiProcessorCount,
                                                  kMixedPrecision<T>);
    if (sheet > 0) return sheet;
  }
  return static_cast<const CudaBackend<T>&>(b).peak_flops();
}
#endif

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
  d.peak_flops = &cuda_mfu_peak_flops<T>;
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

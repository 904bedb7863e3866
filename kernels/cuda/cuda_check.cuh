// Error checking and device detection shared by the CUDA kernels, tests and benchmarks.
// Plain C++ (no device code), so .cpp files compiled by the host compiler may include it.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

// Throws std::runtime_error("file:line: CUDA error <name>: <message> in <expr>") when a CUDA
// runtime call does not return cudaSuccess.
#define CUDA_CHECK(expr)                                                                      \
  do {                                                                                        \
    const cudaError_t merino_cuda_err_ = (expr);                                              \
    if (merino_cuda_err_ != cudaSuccess) {                                                    \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) +       \
                               ": CUDA error " + cudaGetErrorName(merino_cuda_err_) + ": " + \
                               cudaGetErrorString(merino_cuda_err_) + " in " #expr);          \
    }                                                                                         \
  } while (0)

namespace merino::cuda {

// True when at least one CUDA device can be used. Otherwise false, and *why (if non-null)
// says what cudaGetDeviceCount reported (no driver, no device, driver too old, ...).
// The answer is computed once per process.
inline bool cuda_device_available(std::string* why = nullptr) {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the (non-sticky) error so later calls start clean
      return std::string("cudaGetDeviceCount: ") + cudaGetErrorName(err) + ": " +
             cudaGetErrorString(err);
    }
    if (count == 0) return std::string("cudaGetDeviceCount reported 0 devices");
    return std::string();
  }();
  if (why) *why = reason.empty() ? std::string("device available") : reason;
  return reason.empty();
}

}  // namespace merino::cuda

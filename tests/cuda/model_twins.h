// The whole-model CUDA tests' setup (test_cuda_backend.cpp, test_cuda_kv_cache.cpp): a model of
// tests/cuda/configs on the CPU backend and its twin on the CUDA backend with the same weights,
// and the relative L2 distance they are compared by.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/config.h"
#include "model/model.h"

namespace merino::testing {

inline ModelConfig cuda_test_config(const std::string& name) {
  return load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/cuda/configs/" + name +
                           ".yaml");
}

// ||a - b|| / ||b|| over n values (b the reference)
inline double rel_l2(const float* a, const float* b, size_t n) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < n; ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref += double(b[i]) * b[i];
  }
  return std::sqrt(diff / std::max(ref, 1e-30));
}
inline double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  return rel_l2(a.data(), b.data(), std::min(a.size(), b.size()));
}

// fp32: the CPU model's initial weights copied to the GPU's. Mixed precision: both initialised
// with the seed, which must give the same masters and working copies (the tests that check it
// say so); copying would hide a difference in the GPU's rounding of the working copy.
template <class T>
struct ModelTwins {
  ModelTwins(const ModelConfig& cfg, uint64_t seed) : cpu(cfg, cpu_be), gpu(cfg, gpu_be) {
    cpu.init_weights(seed);
    if constexpr (std::is_same_v<T, float>)
      gpu.set_params(cpu.get_params());
    else
      gpu.init_weights(seed);
  }
  CpuBackend<T> cpu_be;
  CudaBackend<T> gpu_be{0};
  Model<T> cpu, gpu;  // declared after their backends: released before them
};

}  // namespace merino::testing

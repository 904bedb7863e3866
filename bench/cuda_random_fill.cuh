// Device-side random inputs for the CUDA benchmarks: values uniform in [lo, hi) and class ids in
// [0, V), each from a hash of (seed, index), so a benchmark's inputs are deterministic and
// filled without a host copy. One hash for every benchmark program.
#pragma once
#include <cuda_bf16.h>

#include <cstddef>
#include <cstdint>

#include "bench/cuda_bench_util.h"

namespace merino::bench {

// p[i] = uniform in [lo, hi) from a hash of (seed, i), rounded to T (float or __nv_bfloat16)
template <class T>
void fill_random(T* p, size_t n, uint32_t seed, float lo, float hi);

// p[i] = a class id in [0, V) from a hash of (seed, i)
void fill_targets(int32_t* p, size_t n, uint32_t seed, int32_t V);

// A device array of n values from fill_random.
template <class T>
class RandomArray : public DeviceArray<T> {
 public:
  RandomArray(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) : DeviceArray<T>(n) {
    fill_random<T>(this->get(), n, seed, lo, hi);
  }
};

}  // namespace merino::bench

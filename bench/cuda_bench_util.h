// Harness shared by the CUDA benchmark programs (bench/bench_cuda_*.cpp): main() with the
// SKIPPED line for machines without a device, an owning device array, CUDA-event timing, and
// the measurement every kernel benchmark makes -- the selected variant against the reference
// (variant 0) timed in the same run, with the throughput, speedup_vs_ref and ref_ms counters
// that scripts/gpu-check.sh collects. Plain C++ (no device code), so both host-compiled .cpp
// benchmarks and those compiled as CUDA may include it.
#pragma once
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "kernels/cuda/cuda_check.cuh"

namespace merino::bench {

// Owning device array of n elements of T, uninitialised; n = 0 still allocates one element, so
// every array has a valid pointer.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) { CUDA_CHECK(cudaMalloc(&p_, (n == 0 ? 1 : n) * sizeof(T))); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(p_); }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

// milliseconds per call of f, averaged over `iters` back-to-back calls on stream 0
inline double time_ms(const std::function<void()>& f, int iters) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start));
  for (int k = 0; k < iters; ++k) f();
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0.f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return ms / iters;
}

// How many back-to-back calls are timed: of the reference once per run, and of the measured
// variant per benchmark iteration (a batch keeps the GPU busy, so the launch latency of the
// first call does not count as kernel time).
struct Timing {
  int reference_calls;
  int batch;
};

// The throughput counter `name`: per_call units of work (bytes moved, floating-point
// operations) per call, reported in `scale` units per second. With `peak` (in the counter's
// units; 0 when the device did not tell) also pct_peak, the throughput in percent of it.
struct Throughput {
  const char* name;
  double per_call;
  double scale;
  std::optional<double> peak;
};

inline Throughput gb_per_s(double bytes, std::optional<double> peak = std::nullopt) {
  return {"GB/s", bytes, 1e9, peak};
}
inline Throughput tflop_per_s(double flops) { return {"TFLOP/s", flops, 1e12, std::nullopt}; }

// The measurement of a kernel benchmark whose first argument is the variant: 0 times
// `reference`, any other `merino`. Warms up the reference and the measured kernel, times the
// reference, then the measured kernel (manual time), and sets the throughput counter,
// speedup_vs_ref (reference time / measured time, about 1 for variant 0) and ref_ms (the
// reference time per call in this run). Errors are reported as a skipped benchmark.
inline void run_against_reference(benchmark::State& st, const std::function<void()>& reference,
                                  const std::function<void()>& merino, const Throughput& work,
                                  const Timing& timing) {
  try {
    const std::function<void()>& kernel = st.range(0) == 0 ? reference : merino;
    reference();
    kernel();
    CUDA_CHECK(cudaDeviceSynchronize());
    const double ref_ms = time_ms(reference, timing.reference_calls);
    double total_ms = 0.0;
    for (auto _ : st) {
      const double ms = time_ms(kernel, timing.batch);
      total_ms += ms;
      st.SetIterationTime(ms * 1e-3);
    }
    const double mean_ms = total_ms / static_cast<double>(st.iterations());
    const double rate = work.per_call / (mean_ms * 1e-3) / work.scale;
    st.counters[work.name] = rate;
    if (work.peak) st.counters["pct_peak"] = *work.peak > 0 ? 100.0 * rate / *work.peak : 0.0;
    st.counters["speedup_vs_ref"] = ref_ms / mean_ms;
    st.counters["ref_ms"] = ref_ms;
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

// Without a usable CUDA device prints "SKIPPED: no CUDA device (<reason>)", the first line
// scripts/gpu-check.sh looks for, and returns true: the program then exits 0.
inline bool skipped_without_cuda_device() {
  std::string why;
  if (merino::cuda::cuda_device_available(&why)) return false;
  std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
  return true;
}

// The device's peak DRAM bandwidth in GB/s from its memory clock and bus width (double data
// rate), recorded in the JSON context as peak_dram_GB/s; 0 when the attributes are unavailable.
inline double record_peak_dram_gbs() {
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) != cudaSuccess)
    return 0.0;
  const double gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  benchmark::AddCustomContext("peak_dram_GB/s", std::to_string(gbs));
  return gbs;
}

// main() of a CUDA benchmark program: the SKIPPED line without a device; otherwise records the
// device's name in the JSON context, calls add_context (if any) for more, and runs the
// benchmarks the command line selects.
inline int cuda_benchmark_main(int argc, char** argv,
                               const std::function<void()>& add_context = nullptr) {
  if (skipped_without_cuda_device()) return 0;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    benchmark::AddCustomContext("cuda_device", prop.name);
  }
  if (add_context) add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace merino::bench

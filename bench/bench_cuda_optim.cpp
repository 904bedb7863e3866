// Optimizer-step benchmarks: fused AdamW (kernels/cuda/adamw.cu) and the deterministic sum of
// squares for global-norm clipping (kernels/cuda/reduce.cu), over GPT-2 small's 124,439,808
// parameters. Compiled as CUDA (CMake sets LANGUAGE CUDA) because the naive reference kernels
// (variant 0, numbered as in llm.c's dev/cuda) live here:
//   * AdamW variant 0: the unfused textbook sequence, four element-wise kernels (scale the
//     gradient into a temporary, update m, update v, update p), one thread per element.
//   * sum of squares variant 0: one thread per element, a shared-memory block reduction and one
//     double atomicAdd per block (non-deterministic, the usual first attempt).
// Variant 1 is merino's fp32 kernel; AdamW variant 2 also writes the bf16 working copy with
// stochastic rounding. The `bf16` argument selects bf16 gradients (or a bf16 buffer to reduce).
// Counters:
//   GB/s            the bytes the fused kernel must move (p, m, v read+write, grad read, bf16 copy
//                   write; for the norm the buffer once) / time; the same byte count for
//                   variant 0, so GB/s compares useful work
//   pct_peak        GB/s / peak DRAM bandwidth (2 * memory clock * bus width, from the device
//                   attributes; cudaDeviceProp lost those fields in CUDA 13)
//   speedup_vs_ref  variant 0 time measured in the same run / this time; ref_ms that time
// GPU time is taken with CUDA events (manual time); the CPU time column is meaningless.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/reduce.cuh"

namespace {

using merino::bench::DeviceArray;
using merino::bench::gb_per_s;
using merino::bench::run_against_reference;

constexpr size_t kParams = 124439808;           // GPT-2 small
constexpr merino::bench::Timing kTiming{3, 5};  // reference calls; calls per iteration
double g_peak_gbs = 0;                          // set in main

// deterministic uniform fill in [lo, hi) from an integer hash
template <class T>
__global__ void fill_kernel(T* p, size_t n, uint32_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const uint64_t h = merino::cuda::mix64((uint64_t(seed) << 40) ^ i);
    const float u = float(h >> 40) * 0x1p-24f;
    p[i] = T(lo + (hi - lo) * u);
  }
}

template <class T>
void fill(const DeviceArray<T>& a, size_t n, uint32_t seed, float lo, float hi) {
  fill_kernel<T><<<4096, 256>>>(a.get(), n, seed, lo, hi);
  CUDA_CHECK(cudaGetLastError());
}

// ---- variant 0 kernels ----
template <class G>
__global__ void naive_scale_grad(float* gs, const G* g, size_t n, float scale) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) gs[i] = float(g[i]) * scale;
}
__global__ void naive_update_m(float* m, const float* gs, size_t n, float b1) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) m[i] = b1 * m[i] + (1.f - b1) * gs[i];
}
__global__ void naive_update_v(float* v, const float* gs, size_t n, float b2) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) v[i] = b2 * v[i] + (1.f - b2) * gs[i] * gs[i];
}
__global__ void naive_update_p(float* p, const float* m, const float* v, size_t n, float lr,
                               float decay, float inv_bc1, float inv_sqrt_bc2, float eps) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i < n) p[i] -= lr * (m[i] * inv_bc1) / (sqrtf(v[i]) * inv_sqrt_bc2 + eps) + decay * p[i];
}

template <class G>
void naive_adamw(float* p, const G* g, float* m, float* v, float* gs, size_t n,
                 const merino::AdamWStep& s) {
  const unsigned blocks = unsigned((n + 255) / 256);
  naive_scale_grad<<<blocks, 256>>>(gs, g, n, float(s.grad_scale));
  naive_update_m<<<blocks, 256>>>(m, gs, n, float(s.beta1));
  naive_update_v<<<blocks, 256>>>(v, gs, n, float(s.beta2));
  naive_update_p<<<blocks, 256>>>(
      p, m, v, n, float(s.lr), float(s.lr * s.weight_decay),
      float(1.0 / (1.0 - std::pow(s.beta1, double(s.step)))),
      float(1.0 / std::sqrt(1.0 - std::pow(s.beta2, double(s.step)))), float(s.eps));
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
__global__ void naive_sumsq(double* out, const T* x, size_t n) {
  __shared__ double s[256];
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  const double v = i < n ? double(float(x[i])) : 0.0;
  s[threadIdx.x] = v * v;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (int(threadIdx.x) < o) s[threadIdx.x] += s[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(out, s[0]);
}

merino::AdamWStep step_args() {
  merino::AdamWStep s;
  s.lr = 6e-4;
  s.weight_decay = 0.1;
  s.step = 10;
  s.grad_scale = 0.5;
  return s;
}

template <class G>
void adamw_bench(benchmark::State& st, int variant) {
  const size_t n = kParams;
  DeviceArray<float> p(n), m(n), v(n), gs(n);
  DeviceArray<G> g(n);
  DeviceArray<__nv_bfloat16> pb(n);
  fill<float>(p, n, 1, -0.1f, 0.1f);
  fill<float>(m, n, 2, -1e-3f, 1e-3f);
  fill<float>(v, n, 3, 0.f, 1e-6f);
  fill<G>(g, n, 4, -1e-2f, 1e-2f);
  const merino::AdamWStep s = step_args();
  auto reference = [&] { naive_adamw(p.get(), g.get(), m.get(), v.get(), gs.get(), n, s); };
  auto fused = [&] {
    if (variant == 2) {
      merino::cuda::adamw_update_bf16(p.get(), pb.get(), g.get(), m.get(), v.get(), n, s, 1234);
    } else {
      merino::cuda::adamw_update(p.get(), g.get(), m.get(), v.get(), n, s);
    }
  };
  const double bytes = double(n) * (6 * 4 + sizeof(G) + (variant == 2 ? 2 : 0));
  run_against_reference(st, reference, fused, gb_per_s(bytes, g_peak_gbs), kTiming);
}

void BM_AdamW(benchmark::State& st) {
  const int variant = int(st.range(0));
  if (st.range(1)) {
    adamw_bench<__nv_bfloat16>(st, variant);
  } else {
    adamw_bench<float>(st, variant);
  }
}

template <class T>
void sumsq_bench(benchmark::State& st) {
  const size_t n = kParams;
  DeviceArray<T> x(n);
  DeviceArray<double> out(1), scratch(merino::cuda::sum_squares_scratch_doubles());
  fill<T>(x, n, 5, -1e-2f, 1e-2f);
  auto reference = [&] {
    CUDA_CHECK(cudaMemsetAsync(out.get(), 0, sizeof(double)));
    naive_sumsq<T><<<unsigned((n + 255) / 256), 256>>>(out.get(), x.get(), n);
    CUDA_CHECK(cudaGetLastError());
  };
  auto merino_kernel = [&] {
    merino::cuda::sum_squares_device(out.get(), x.get(), n, 0, scratch.get());
  };
  run_against_reference(st, reference, merino_kernel, gb_per_s(double(n) * sizeof(T), g_peak_gbs),
                        kTiming);
}

void BM_SumSquares(benchmark::State& st) {
  if (st.range(1)) {
    sumsq_bench<__nv_bfloat16>(st);
  } else {
    sumsq_bench<float>(st);
  }
}

BENCHMARK(BM_AdamW)
    ->ArgNames({"variant", "bf16"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({2, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SumSquares)
    ->ArgNames({"variant", "bf16"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return merino::bench::cuda_benchmark_main(
      argc, argv, [] { g_peak_gbs = merino::bench::record_peak_dram_gbs(); });
}

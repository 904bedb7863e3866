// Decoding attention: merino::cuda::attention_cached_forward (one new token per sequence over a
// KV cache of Tk tokens) against the reference measured in the same run, the attention a decode
// step runs without a cache: the flash kernel (attention_forward, v2) over the whole B x Tk
// sequence, i.e. what `merino generate` would spend per token if it recomputed the sequence.
// Args: variant 0 = reference, 1 = merino cached; dtype 0 = fp32, 1 = bf16; shape:
//   shape 0  GPT-2 124M, one sequence  B = 1, Tk = 1024, H = 12, KVH = 12, hd = 64
//   shape 1  GPT-2 124M, batch 8       B = 8, Tk = 1024, H = 12, KVH = 12, hd = 64
//   shape 2  MobileLLM-125M (GQA 3)    B = 8, Tk = 1024, H = 9,  KVH = 3,  hd = 64
//   shape 3  hd 128, GQA 4             B = 4, Tk = 2048, H = 16, KVH = 4,  hd = 128
// Counters: GB/s and pct_peak (the cache, the query and the output moved per call, against the
// DRAM peak from the device's memory clock and bus width: decoding is bandwidth bound, so this
// is the figure of merit), speedup_vs_ref, ref_ms. GPU time from CUDA events (manual time).
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/attention_cached.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace {

using bf16 = __nv_bfloat16;
using merino::bench::DeviceArray;

struct Shape {
  int B, Tk, H, KVH, hd;
};
const Shape kShapes[] = {
    {1, 1024, 12, 12, 64}, {8, 1024, 12, 12, 64}, {8, 1024, 9, 3, 64}, {4, 2048, 16, 4, 128}};
constexpr merino::bench::Timing kTiming{20, 50};
double g_peak_gbs = 0;  // set in main

// n values uniform in [-1, 1) as T on the device
template <class T>
DeviceArray<T> random_array(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<T> h(n);
  for (T& x : h) x = T(dist(rng));
  DeviceArray<T> d(n);
  CUDA_CHECK(cudaMemcpy(d.get(), h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <class T>
void decode_bench(benchmark::State& st) {
  const Shape s = kShapes[st.range(2)];
  const size_t C3 = size_t(s.H + 2 * s.KVH) * s.hd, ckv = size_t(s.KVH) * s.hd;
  const size_t BT = size_t(s.B) * s.Tk;
  // the reference's whole sequence, and the cache holding it (the last token appended again)
  DeviceArray<T> seq = random_array<T>(BT * C3, 1), full_out(BT * s.H * s.hd);
  DeviceArray<float> lse(size_t(s.B) * s.H * s.Tk);
  DeviceArray<T> step = random_array<T>(size_t(s.B) * C3, 2), out(size_t(s.B) * s.H * s.hd);
  DeviceArray<T> k = random_array<T>(BT * ckv, 3), v = random_array<T>(BT * ckv, 4);
  const auto reference = [&] {
    merino::cuda::attention_forward<T>(merino::cuda::AttentionKernel::v2, full_out.get(), lse.get(),
                                       seq.get(), s.B, s.Tk, s.H, s.KVH, s.hd);
  };
  const auto cached = [&] {
    merino::cuda::attention_cached_forward<T>(out.get(), k.get(), v.get(), step.get(), s.B, 1, s.Tk,
                                              s.Tk, s.H, s.KVH, s.hd);
  };
  const double bytes = double(sizeof(T)) * s.B * (2.0 * s.Tk * ckv + C3 + double(s.H) * s.hd);
  merino::bench::run_against_reference(st, reference, cached,
                                       merino::bench::gb_per_s(bytes, g_peak_gbs), kTiming);
}

void BM_AttentionDecode(benchmark::State& st) {
  if (st.range(1) == 0)
    decode_bench<float>(st);
  else
    decode_bench<bf16>(st);
}

BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"variant", "dtype", "shape"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1, 2, 3}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return merino::bench::cuda_benchmark_main(
      argc, argv, [] { g_peak_gbs = merino::bench::record_peak_dram_gbs(); });
}

// CUDA kernel benchmarks. Every benchmark takes a `variant` argument, numbered as in llm.c's
// dev/cuda: 0 = the naive reference kernel (bench/cuda_reference_kernels.cu, one thread per
// row), 1 = merino's kernel (kernels/cuda). Each run also times variant 0 itself, on the same
// buffers, so the counters compare like with like:
//   speedup_vs_ref  reference time / this variant's time (about 1 for variant 0)
//   ref_ms          the reference time per call measured in this run
//   GB/s            minimal bytes the kernel must move / time per call
// GPU time is taken with CUDA events (manual time); the CPU time column is meaningless here.
// Backward norms include their partial-sum reduction and use a preallocated scratch.
// BM_LayerNormBackwardReduce / BM_RmsNormBackwardReduce compare the reductions instead (dtype
// fp32): variant 0 = NormReduce::kSinglePass (the earlier one pass over 2 C / 32 blocks),
// 1 = NormReduce::kSplit (slices of <= 64 partial rows in parallel, then the slices).
// The residual add fused with a norm (BM_ResidualLayerNormForward, BM_ResidualRmsNormForward,
// `dtype` 0 = fp32, 1 = bf16) is measured against what it replaces: variant 0 there is the
// two-kernel sequence merino::cuda::residual_forward + the norm, not a naive kernel. Both run in
// place on the residual stream (sum == a) as the model does; the stream drifts by b per call,
// which changes no timing. GB/s counts the fused op's minimal bytes (read a, b; write sum, out)
// for both variants.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <random>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_random_fill.cuh"
#include "bench/cuda_reference_kernels.cuh"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/norms.cuh"

namespace {

using merino::bench::DeviceArray;
using merino::bench::gb_per_s;
using merino::bench::run_against_reference;

DeviceArray<float> floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  DeviceArray<float> a(n);
  merino::bench::fill_random<float>(a.get(), n, seed, lo, hi);
  return a;
}

// one target class in [0, V) per row, deterministic
DeviceArray<int32_t> random_targets(int N, int V) {
  DeviceArray<int32_t> t(N);
  merino::bench::fill_targets(t.get(), N, 2, V);
  return t;
}

constexpr merino::bench::Timing kTiming{5, 10};  // reference calls; calls per iteration

constexpr size_t F = sizeof(float);

// The inputs, outputs and scratch of a norm backward of N rows of C (RMSNorm uses a subset).
struct NormBackwardBuffers {
  NormBackwardBuffers(int N, int C)
      : inp(floats(size_t(N) * C, 1, -2.f, 2.f)), dout(floats(size_t(N) * C, 4)),
        w(floats(C, 2, 0.5f, 1.5f)), mean(floats(N, 5, -0.1f, 0.1f)),
        rstd(floats(N, 6, 0.9f, 1.1f)), dinp(floats(size_t(N) * C, 7)), dw(floats(C, 8)),
        db(floats(C, 9)), scratch(merino::cuda::layernorm_backward_scratch_floats(N, C)) {}
  DeviceArray<float> inp, dout, w, mean, rstd, dinp, dw, db, scratch;
};

void BM_LayerNormForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray<float> inp = floats(NC, 1, -2.f, 2.f), w = floats(C, 2, 0.5f, 1.5f), b = floats(C, 3),
                     out(NC), mean(N), rstd(N);
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_layernorm_forward(out.get(), mean.get(), rstd.get(), inp.get(),
                                               w.get(), b.get(), N, C, 1e-5f);
      },
      [&] {
        merino::cuda::layernorm_forward(out.get(), mean.get(), rstd.get(), inp.get(), w.get(),
                                        b.get(), N, C, 1e-5f);
      },
      gb_per_s(static_cast<double>(2 * NC + 2 * C + 2 * N) * F), kTiming);  // read inp, write out
}

void BM_LayerNormBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  NormBackwardBuffers buf(N, C);
  DeviceArray<float>&inp = buf.inp, &dout = buf.dout, &w = buf.w, &mean = buf.mean,
                     &rstd = buf.rstd, &dinp = buf.dinp, &dw = buf.dw, &db = buf.db,
                     &scratch = buf.scratch;
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_layernorm_backward(dinp.get(), dw.get(), db.get(), dout.get(),
                                                inp.get(), w.get(), mean.get(), rstd.get(), N, C);
      },
      [&] {
        merino::cuda::layernorm_backward(dinp.get(), dw.get(), db.get(), dout.get(), inp.get(),
                                         w.get(), mean.get(), rstd.get(), N, C, 0, scratch.get());
      },
      gb_per_s(static_cast<double>(4 * NC) * F), kTiming);  // read inp, dout, dinp; write dinp
}

void BM_RmsNormForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray<float> inp = floats(NC, 1, -2.f, 2.f), w = floats(C, 2, 0.5f, 1.5f), out(NC), rstd(N);
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_rmsnorm_forward(out.get(), rstd.get(), inp.get(), w.get(), N, C,
                                             1e-6f);
      },
      [&] {
        merino::cuda::rmsnorm_forward(out.get(), rstd.get(), inp.get(), w.get(), N, C, 1e-6f);
      },
      gb_per_s(static_cast<double>(2 * NC + C + N) * F), kTiming);
}

void BM_RmsNormBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray<float> inp = floats(NC, 1, -2.f, 2.f), dout = floats(NC, 4),
                     w = floats(C, 2, 0.5f, 1.5f), rstd = floats(N, 6, 0.9f, 1.1f),
                     dinp = floats(NC, 7), dw = floats(C, 8),
                     scratch(merino::cuda::rmsnorm_backward_scratch_floats(N, C));
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_rmsnorm_backward(dinp.get(), dw.get(), dout.get(), inp.get(), w.get(),
                                              rstd.get(), N, C);
      },
      [&] {
        merino::cuda::rmsnorm_backward(dinp.get(), dw.get(), dout.get(), inp.get(), w.get(),
                                       rstd.get(), N, C, 0, scratch.get());
      },
      gb_per_s(static_cast<double>(4 * NC) * F), kTiming);
}

void BM_CrossEntropyForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), V = static_cast<int>(st.range(2));
  const size_t NV = static_cast<size_t>(N) * V;
  DeviceArray<float> logits = floats(NV, 1, -4.f, 4.f), losses(N);
  DeviceArray<int32_t> targets = random_targets(N, V);
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_crossentropy_forward(losses.get(), logits.get(), targets.get(), N, V,
                                                  -100);
      },
      [&] {
        merino::cuda::crossentropy_forward(losses.get(), logits.get(), targets.get(), N, V, V,
                                           -100);
      },
      gb_per_s(static_cast<double>(NV) * F), kTiming);  // read the logits once
}

// In place: after the first call the buffer holds dlogits, which are as good as logits for
// timing (same sizes, same passes; all rows stay finite).
void BM_CrossEntropyForwardBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), V = static_cast<int>(st.range(2));
  const size_t NV = static_cast<size_t>(N) * V;
  DeviceArray<float> logits = floats(NV, 1, -4.f, 4.f), losses(N);
  DeviceArray<int32_t> targets = random_targets(N, V);
  const float scale = 1.0f / static_cast<float>(N);
  run_against_reference(
      st,
      [&] {
        merino::bench::naive_crossentropy_forward_backward(logits.get(), losses.get(),
                                                           targets.get(), N, V, -100, scale);
      },
      [&] {
        merino::cuda::crossentropy_forward_backward(logits.get(), losses.get(), targets.get(), N,
                                                    V, V, -100, scale);
      },
      gb_per_s(static_cast<double>(2 * NV) * F), kTiming);  // read the logits, write dlogits
}

// n values uniform in [lo, hi) in T, drawn on the host (the device fill is fp32 only)
template <class T>
DeviceArray<T> host_filled(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<T> h(n);
  for (auto& x : h) x = static_cast<T>(dist(rng));
  DeviceArray<T> a(n);
  CUDA_CHECK(cudaMemcpy(a.get(), h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  return a;
}

template <class T, bool RMS>
void residual_norm_bench(benchmark::State& st) {
  const int N = static_cast<int>(st.range(2)), C = static_cast<int>(st.range(3));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray<T> a = host_filled<T>(NC, 1, -1.f, 1.f), b = host_filled<T>(NC, 2, -1.f, 1.f),
                 w = host_filled<T>(C, 3, 0.5f, 1.5f), bias = host_filled<T>(C, 4, -0.5f, 0.5f),
                 out(NC);
  DeviceArray<float> mean(N), rstd(N);
  const double bytes = static_cast<double>((4 * NC + (RMS ? 1 : 2) * C) * sizeof(T)) +
                       static_cast<double>((RMS ? 1 : 2) * N) * F;
  run_against_reference(
      st,
      [&] {
        merino::cuda::residual_forward(a.get(), a.get(), b.get(), NC);
        if (RMS) {
          merino::cuda::rmsnorm_forward(out.get(), rstd.get(), a.get(), w.get(), N, C, 1e-6f);
        } else {
          merino::cuda::layernorm_forward(out.get(), mean.get(), rstd.get(), a.get(), w.get(),
                                          bias.get(), N, C, 1e-5f);
        }
      },
      [&] {
        if (RMS) {
          merino::cuda::residual_rmsnorm_forward(a.get(), out.get(), rstd.get(), a.get(), b.get(),
                                                 w.get(), N, C, 1e-6f);
        } else {
          merino::cuda::residual_layernorm_forward(a.get(), out.get(), mean.get(), rstd.get(),
                                                   a.get(), b.get(), w.get(), bias.get(), N, C,
                                                   1e-5f);
        }
      },
      gb_per_s(bytes), kTiming);
}

// dtype argument: 0 = fp32, 1 = bf16
template <bool RMS>
void BM_ResidualNormForward(benchmark::State& st) {
  if (st.range(1) == 0) {
    residual_norm_bench<float, RMS>(st);
  } else {
    residual_norm_bench<__nv_bfloat16, RMS>(st);
  }
}
void BM_ResidualLayerNormForward(benchmark::State& st) { BM_ResidualNormForward<false>(st); }
void BM_ResidualRmsNormForward(benchmark::State& st) { BM_ResidualNormForward<true>(st); }

// The whole backward (row kernel + reduction) with the earlier single-pass reduction as the
// reference: the speedup is what the split reduction buys the op.
template <bool RMS>
void BM_NormBackwardReduce(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  NormBackwardBuffers buf(N, C);
  DeviceArray<float>&inp = buf.inp, &dout = buf.dout, &w = buf.w, &mean = buf.mean,
                     &rstd = buf.rstd, &dinp = buf.dinp, &dw = buf.dw, &db = buf.db,
                     &scratch = buf.scratch;
  auto backward = [&](merino::cuda::NormReduce reduce) {
    if (RMS) {
      merino::cuda::rmsnorm_backward(dinp.get(), dw.get(), dout.get(), inp.get(), w.get(),
                                     rstd.get(), N, C, 0, scratch.get(), reduce);
    } else {
      merino::cuda::layernorm_backward(dinp.get(), dw.get(), db.get(), dout.get(), inp.get(),
                                       w.get(), mean.get(), rstd.get(), N, C, 0, scratch.get(),
                                       reduce);
    }
  };
  run_against_reference(
      st, [&] { backward(merino::cuda::NormReduce::kSinglePass); },
      [&] { backward(merino::cuda::NormReduce::kSplit); },
      gb_per_s(static_cast<double>(4 * NC) * F), kTiming);
}
void BM_LayerNormBackwardReduce(benchmark::State& st) { BM_NormBackwardReduce<false>(st); }
void BM_RmsNormBackwardReduce(benchmark::State& st) { BM_NormBackwardReduce<true>(st); }

// N = B * T rows (8 x 1024); C = 768 (GPT-2 small, float4 path) and 770 (scalar path)
void norm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "N", "C"});
  for (int C : {768, 770})
    for (int v : {0, 1}) b->Args({v, 8192, C});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

// GPT-2 small: N = 8 x 1024 rows, C = 768; fp32 and bf16
void residual_norm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "dtype", "N", "C"});
  for (int dtype : {0, 1})
    for (int v : {0, 1}) b->Args({v, dtype, 8192, 768});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

// N = 1024 rows; V = 50257 (GPT-2, scalar path) and 50304 (padded to 128, float4 path)
void ce_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "N", "V"});
  for (int V : {50257, 50304})
    for (int v : {0, 1}) b->Args({v, 1024, V});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_LayerNormForward)->Apply(norm_args);
BENCHMARK(BM_LayerNormBackward)->Apply(norm_args);
BENCHMARK(BM_RmsNormForward)->Apply(norm_args);
BENCHMARK(BM_RmsNormBackward)->Apply(norm_args);
BENCHMARK(BM_LayerNormBackwardReduce)->Apply(norm_args);
BENCHMARK(BM_RmsNormBackwardReduce)->Apply(norm_args);
BENCHMARK(BM_ResidualLayerNormForward)->Apply(residual_norm_args);
BENCHMARK(BM_ResidualRmsNormForward)->Apply(residual_norm_args);
BENCHMARK(BM_CrossEntropyForward)->Apply(ce_args);
BENCHMARK(BM_CrossEntropyForwardBackward)->Apply(ce_args);

}  // namespace

int main(int argc, char** argv) { return merino::bench::cuda_benchmark_main(argc, argv); }

// CUDA kernel benchmarks. Every benchmark takes a `variant` argument, numbered as in llm.c's
// dev/cuda: 0 = the naive reference kernel (bench/cuda_reference_kernels.cu, one thread per
// row), 1 = merino's kernel (kernels/cuda). Each run also times variant 0 itself, on the same
// buffers, so the counters compare like with like:
//   speedup_vs_ref  reference time / this variant's time (about 1 for variant 0)
//   ref_ms          the reference time per call measured in this run
//   GB/s            minimal bytes the kernel must move / time per call
// GPU time is taken with CUDA events (manual time); the CPU time column is meaningless here.
// Backward norms include their second (partial-sum) kernel and use a preallocated scratch.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "bench/cuda_reference_kernels.cuh"
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/norms.cuh"

namespace {

using merino::bench::fill_uniform;

class DeviceArray {
 public:
  explicit DeviceArray(size_t bytes) { CUDA_CHECK(cudaMalloc(&p_, bytes == 0 ? 1 : bytes)); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(p_); }
  float* f() const { return static_cast<float*>(p_); }
  int32_t* i() const { return static_cast<int32_t*>(p_); }

 private:
  void* p_ = nullptr;
};

DeviceArray floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  DeviceArray a(n * sizeof(float));
  fill_uniform(a.f(), n, seed, lo, hi);
  return a;
}

constexpr int kBatch = 10;  // calls per benchmark iteration

// milliseconds per call of f, averaged over `iters` back-to-back calls on stream 0
double time_ms(const std::function<void()>& f, int iters) {
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

// Shared driver: warms up, times the reference (variant 0) over a few calls, then times the
// selected variant (kBatch calls per benchmark iteration) and sets the counters.
void run_variants(benchmark::State& st, const std::function<void()>& reference,
                  const std::function<void()>& merino, double bytes) {
  try {
    const int variant = static_cast<int>(st.range(0));
    const std::function<void()>& kernel = variant == 0 ? reference : merino;
    reference();
    kernel();
    CUDA_CHECK(cudaDeviceSynchronize());
    const double ref_ms = time_ms(reference, 5);
    double total_ms = 0.0;
    for (auto _ : st) {
      // a batch of back-to-back calls keeps the GPU busy, so the launch latency of the first
      // call does not count as kernel time
      const double ms = time_ms(kernel, kBatch);
      total_ms += ms;
      st.SetIterationTime(ms * 1e-3);
    }
    const double mean_ms = total_ms / static_cast<double>(st.iterations());
    st.counters["GB/s"] = bytes / (mean_ms * 1e-3) / 1e9;
    st.counters["speedup_vs_ref"] = ref_ms / mean_ms;
    st.counters["ref_ms"] = ref_ms;
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

constexpr size_t F = sizeof(float);

void BM_LayerNormForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray inp = floats(NC, 1, -2.f, 2.f), w = floats(C, 2, 0.5f, 1.5f), b = floats(C, 3),
              out(NC * F), mean(N * F), rstd(N * F);
  run_variants(
      st,
      [&] {
        merino::bench::naive_layernorm_forward(out.f(), mean.f(), rstd.f(), inp.f(), w.f(), b.f(),
                                               N, C, 1e-5f);
      },
      [&] {
        merino::cuda::layernorm_forward(out.f(), mean.f(), rstd.f(), inp.f(), w.f(), b.f(), N, C,
                                        1e-5f);
      },
      static_cast<double>(2 * NC + 2 * C + 2 * N) * F);  // read inp, write out
}

void BM_LayerNormBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray inp = floats(NC, 1, -2.f, 2.f), dout = floats(NC, 4), w = floats(C, 2, 0.5f, 1.5f),
              mean = floats(N, 5, -0.1f, 0.1f), rstd = floats(N, 6, 0.9f, 1.1f),
              dinp = floats(NC, 7), dw = floats(C, 8), db = floats(C, 9),
              scratch(merino::cuda::layernorm_backward_scratch_floats(N, C) * F);
  run_variants(
      st,
      [&] {
        merino::bench::naive_layernorm_backward(dinp.f(), dw.f(), db.f(), dout.f(), inp.f(), w.f(),
                                                mean.f(), rstd.f(), N, C);
      },
      [&] {
        merino::cuda::layernorm_backward(dinp.f(), dw.f(), db.f(), dout.f(), inp.f(), w.f(),
                                         mean.f(), rstd.f(), N, C, 0, scratch.f());
      },
      static_cast<double>(4 * NC) * F);  // read inp, dout, dinp; write dinp
}

void BM_RmsNormForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray inp = floats(NC, 1, -2.f, 2.f), w = floats(C, 2, 0.5f, 1.5f), out(NC * F),
              rstd(N * F);
  run_variants(
      st,
      [&] {
        merino::bench::naive_rmsnorm_forward(out.f(), rstd.f(), inp.f(), w.f(), N, C, 1e-6f);
      },
      [&] { merino::cuda::rmsnorm_forward(out.f(), rstd.f(), inp.f(), w.f(), N, C, 1e-6f); },
      static_cast<double>(2 * NC + C + N) * F);
}

void BM_RmsNormBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), C = static_cast<int>(st.range(2));
  const size_t NC = static_cast<size_t>(N) * C;
  DeviceArray inp = floats(NC, 1, -2.f, 2.f), dout = floats(NC, 4), w = floats(C, 2, 0.5f, 1.5f),
              rstd = floats(N, 6, 0.9f, 1.1f), dinp = floats(NC, 7), dw = floats(C, 8),
              scratch(merino::cuda::rmsnorm_backward_scratch_floats(N, C) * F);
  run_variants(
      st,
      [&] {
        merino::bench::naive_rmsnorm_backward(dinp.f(), dw.f(), dout.f(), inp.f(), w.f(), rstd.f(),
                                              N, C);
      },
      [&] {
        merino::cuda::rmsnorm_backward(dinp.f(), dw.f(), dout.f(), inp.f(), w.f(), rstd.f(), N, C,
                                       0, scratch.f());
      },
      static_cast<double>(4 * NC) * F);
}

void BM_CrossEntropyForward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), V = static_cast<int>(st.range(2));
  const size_t NV = static_cast<size_t>(N) * V;
  DeviceArray logits = floats(NV, 1, -4.f, 4.f), losses(N * F), targets(N * sizeof(int32_t));
  merino::bench::fill_targets(targets.i(), N, 2, V);
  run_variants(
      st,
      [&] {
        merino::bench::naive_crossentropy_forward(losses.f(), logits.f(), targets.i(), N, V, -100);
      },
      [&] {
        merino::cuda::crossentropy_forward(losses.f(), logits.f(), targets.i(), N, V, -100);
      },
      static_cast<double>(NV) * F);  // read the logits once
}

// In place: after the first call the buffer holds dlogits, which are as good as logits for
// timing (same sizes, same passes; all rows stay finite).
void BM_CrossEntropyForwardBackward(benchmark::State& st) {
  const int N = static_cast<int>(st.range(1)), V = static_cast<int>(st.range(2));
  const size_t NV = static_cast<size_t>(N) * V;
  DeviceArray logits = floats(NV, 1, -4.f, 4.f), losses(N * F), targets(N * sizeof(int32_t));
  merino::bench::fill_targets(targets.i(), N, 2, V);
  const float scale = 1.0f / static_cast<float>(N);
  run_variants(
      st,
      [&] {
        merino::bench::naive_crossentropy_forward_backward(logits.f(), losses.f(), targets.i(), N,
                                                           V, -100, scale);
      },
      [&] {
        merino::cuda::crossentropy_forward_backward(logits.f(), losses.f(), targets.i(), N, V,
                                                    -100, scale);
      },
      static_cast<double>(2 * NV) * F);  // read the logits, write dlogits
}

// N = B * T rows (8 x 1024); C = 768 (GPT-2 small, float4 path) and 770 (scalar path)
void norm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "N", "C"});
  for (int C : {768, 770})
    for (int v : {0, 1}) b->Args({v, 8192, C});
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
BENCHMARK(BM_CrossEntropyForward)->Apply(ce_args);
BENCHMARK(BM_CrossEntropyForwardBackward)->Apply(ce_args);

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  if (!merino::cuda::cuda_device_available(&why)) {
    std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    benchmark::AddCustomContext("cuda_device", prop.name);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

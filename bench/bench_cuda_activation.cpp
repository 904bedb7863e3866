// Element-wise CUDA kernel benchmarks (kernels/cuda/activation.cuh). Arguments:
//   variant  0 = naive reference (bench/cuda_reference_elementwise.cu: one thread per element,
//            scalar accesses), 1 = merino's kernel (16-byte accesses, grid-stride)
//   dtype    0 = fp32, 1 = bf16
// Each run also times variant 0 on the same buffers, so the counters compare like with like:
//   GB/s            minimal bytes the op must move (each input read once, output written once)
//                   / time per call
//   speedup_vs_ref  reference time / this variant's time (about 1 for variant 0)
//   ref_ms          the reference time per call measured in this run
// Sizes are GPT-2 124M's at N = B * T = 8 x 1024 tokens: GELU on the [N, 3072] MLP activation,
// residual / accumulate on the [N, 768] stream; SwiGLU on MobileLLM-125M's [N, 2 x 1536].
// GPU time from CUDA events (manual time); the CPU time column is meaningless here.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>

#include "bench/cuda_reference_elementwise.cuh"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace {

using bf16 = __nv_bfloat16;

template <class T>
class DeviceArray {
 public:
  DeviceArray(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
    CUDA_CHECK(cudaMalloc(&p_, (n == 0 ? 1 : n) * sizeof(T)));
    merino::bench::fill_random<T>(p_, n, seed, lo, hi);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(p_); }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

constexpr int kBatch = 20;  // calls per benchmark iteration

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

void run_variants(benchmark::State& st, const std::function<void()>& reference,
                  const std::function<void()>& merino, double bytes) {
  const std::function<void()>& kernel = st.range(0) == 0 ? reference : merino;
  reference();
  kernel();
  CUDA_CHECK(cudaDeviceSynchronize());
  const double ref_ms = time_ms(reference, kBatch);
  double total_ms = 0.0;
  for (auto _ : st) {
    const double ms = time_ms(kernel, kBatch);
    total_ms += ms;
    st.SetIterationTime(ms * 1e-3);
  }
  const double mean_ms = total_ms / static_cast<double>(st.iterations());
  st.counters["GB/s"] = bytes / (mean_ms * 1e-3) / 1e9;
  st.counters["speedup_vs_ref"] = ref_ms / mean_ms;
  st.counters["ref_ms"] = ref_ms;
}

// Runs body<float> or body<bf16> by the dtype argument, reporting errors as a skipped benchmark.
template <template <class> class Body>
void dispatch(benchmark::State& st) {
  try {
    if (st.range(1) == 0) {
      Body<float>::run(st);
    } else {
      Body<bf16>::run(st);
    }
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

template <class T>
struct GeluForward {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    DeviceArray<T> inp(n, 1, -4.f, 4.f), out(n, 2);
    run_variants(
        st, [&] { merino::bench::naive_gelu_forward<T>(out.get(), inp.get(), n); },
        [&] { merino::cuda::gelu_forward<T>(out.get(), inp.get(), n); }, 2.0 * n * sizeof(T));
  }
};

template <class T>
struct GeluBackward {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    DeviceArray<T> inp(n, 1, -4.f, 4.f), dout(n, 3), dinp(n, 4);
    run_variants(
        st, [&] { merino::bench::naive_gelu_backward<T>(dinp.get(), dout.get(), inp.get(), n); },
        [&] { merino::cuda::gelu_backward<T>(dinp.get(), dout.get(), inp.get(), n); },
        3.0 * n * sizeof(T));
  }
};

template <class T>
struct Residual {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    DeviceArray<T> a(n, 1), b(n, 2), out(n, 3);
    run_variants(
        st, [&] { merino::bench::naive_residual_forward<T>(out.get(), a.get(), b.get(), n); },
        [&] { merino::cuda::residual_forward<T>(out.get(), a.get(), b.get(), n); },
        3.0 * n * sizeof(T));
  }
};

// dst grows by src on every call; values stay far from overflow over a benchmark's calls
template <class T>
struct Accumulate {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    DeviceArray<T> dst(n, 1), src(n, 2, -1e-3f, 1e-3f);
    run_variants(
        st, [&] { merino::bench::naive_accumulate<T>(dst.get(), src.get(), n); },
        [&] { merino::cuda::accumulate<T>(dst.get(), src.get(), n); }, 3.0 * n * sizeof(T));
  }
};

// range(2) = N rows, range(3) = F
template <class T>
struct SwigluForward {
  static void run(benchmark::State& st) {
    const int N = static_cast<int>(st.range(2)), F = static_cast<int>(st.range(3));
    const size_t NF = static_cast<size_t>(N) * F;
    DeviceArray<T> inp(2 * NF, 1, -4.f, 4.f), out(NF, 2);
    run_variants(
        st, [&] { merino::bench::naive_swiglu_forward<T>(out.get(), inp.get(), N, F); },
        [&] { merino::cuda::swiglu_forward<T>(out.get(), inp.get(), N, F); },
        3.0 * NF * sizeof(T));  // read gate and up, write out
  }
};

template <class T>
struct SwigluBackward {
  static void run(benchmark::State& st) {
    const int N = static_cast<int>(st.range(2)), F = static_cast<int>(st.range(3));
    const size_t NF = static_cast<size_t>(N) * F;
    DeviceArray<T> inp(2 * NF, 1, -4.f, 4.f), dout(NF, 2), dinp(2 * NF, 3);
    run_variants(
        st,
        [&] { merino::bench::naive_swiglu_backward<T>(dinp.get(), dout.get(), inp.get(), N, F); },
        [&] { merino::cuda::swiglu_backward<T>(dinp.get(), dout.get(), inp.get(), N, F); },
        5.0 * NF * sizeof(T));  // read gate, up, dout; write dgate, dup
  }
};

void BM_GeluForward(benchmark::State& st) { dispatch<GeluForward>(st); }
void BM_GeluBackward(benchmark::State& st) { dispatch<GeluBackward>(st); }
void BM_ResidualForward(benchmark::State& st) { dispatch<Residual>(st); }
void BM_Accumulate(benchmark::State& st) { dispatch<Accumulate>(st); }
void BM_SwigluForward(benchmark::State& st) { dispatch<SwigluForward>(st); }
void BM_SwigluBackward(benchmark::State& st) { dispatch<SwigluBackward>(st); }

constexpr int64_t kTokens = 8 * 1024;

// n = elements
void pointwise_args(benchmark::internal::Benchmark* b, int64_t n) {
  b->ArgNames({"variant", "dtype", "n"});
  for (int dtype : {0, 1})
    for (int v : {0, 1}) b->Args({v, dtype, n});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void mlp_args(benchmark::internal::Benchmark* b) { pointwise_args(b, kTokens * 3072); }
void stream_args(benchmark::internal::Benchmark* b) { pointwise_args(b, kTokens * 768); }

// F = 1536 (MobileLLM-125M, 16-byte packs) and 1538 (not a whole pack in either type: scalar)
void swiglu_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "dtype", "N", "F"});
  for (int F : {1536, 1538})
    for (int dtype : {0, 1})
      for (int v : {0, 1}) b->Args({v, dtype, kTokens, F});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_GeluForward)->Apply(mlp_args);
BENCHMARK(BM_GeluBackward)->Apply(mlp_args);
BENCHMARK(BM_ResidualForward)->Apply(stream_args);
BENCHMARK(BM_Accumulate)->Apply(stream_args);
BENCHMARK(BM_SwigluForward)->Apply(swiglu_args);
BENCHMARK(BM_SwigluBackward)->Apply(swiglu_args);

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

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
#include <exception>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_random_fill.cuh"
#include "bench/cuda_reference_elementwise.cuh"
#include "kernels/cuda/activation.cuh"

namespace {

using bf16 = __nv_bfloat16;

using merino::bench::gb_per_s;
using merino::bench::RandomArray;
using merino::bench::run_against_reference;

constexpr merino::bench::Timing kTiming{20, 20};  // reference calls; calls per iteration

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
    RandomArray<T> inp(n, 1, -4.f, 4.f), out(n, 2);
    run_against_reference(
        st, [&] { merino::bench::naive_gelu_forward<T>(out.get(), inp.get(), n); },
        [&] { merino::cuda::gelu_forward<T>(out.get(), inp.get(), n); },
        gb_per_s(2.0 * n * sizeof(T)), kTiming);
  }
};

template <class T>
struct GeluBackward {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    RandomArray<T> inp(n, 1, -4.f, 4.f), dout(n, 3), dinp(n, 4);
    run_against_reference(
        st, [&] { merino::bench::naive_gelu_backward<T>(dinp.get(), dout.get(), inp.get(), n); },
        [&] { merino::cuda::gelu_backward<T>(dinp.get(), dout.get(), inp.get(), n); },
        gb_per_s(3.0 * n * sizeof(T)), kTiming);
  }
};

template <class T>
struct Residual {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    RandomArray<T> a(n, 1), b(n, 2), out(n, 3);
    run_against_reference(
        st, [&] { merino::bench::naive_residual_forward<T>(out.get(), a.get(), b.get(), n); },
        [&] { merino::cuda::residual_forward<T>(out.get(), a.get(), b.get(), n); },
        gb_per_s(3.0 * n * sizeof(T)), kTiming);
  }
};

// dst grows by src on every call; values stay far from overflow over a benchmark's calls
template <class T>
struct Accumulate {
  static void run(benchmark::State& st) {
    const size_t n = static_cast<size_t>(st.range(2));
    RandomArray<T> dst(n, 1), src(n, 2, -1e-3f, 1e-3f);
    run_against_reference(
        st, [&] { merino::bench::naive_accumulate<T>(dst.get(), src.get(), n); },
        [&] { merino::cuda::accumulate<T>(dst.get(), src.get(), n); },
        gb_per_s(3.0 * n * sizeof(T)), kTiming);
  }
};

// range(2) = N rows, range(3) = F
template <class T>
struct SwigluForward {
  static void run(benchmark::State& st) {
    const int N = static_cast<int>(st.range(2)), F = static_cast<int>(st.range(3));
    const size_t NF = static_cast<size_t>(N) * F;
    RandomArray<T> inp(2 * NF, 1, -4.f, 4.f), out(NF, 2);
    run_against_reference(
        st, [&] { merino::bench::naive_swiglu_forward<T>(out.get(), inp.get(), N, F); },
        [&] { merino::cuda::swiglu_forward<T>(out.get(), inp.get(), N, F); },
        gb_per_s(3.0 * NF * sizeof(T)), kTiming);  // read gate and up, write out
  }
};

template <class T>
struct SwigluBackward {
  static void run(benchmark::State& st) {
    const int N = static_cast<int>(st.range(2)), F = static_cast<int>(st.range(3));
    const size_t NF = static_cast<size_t>(N) * F;
    RandomArray<T> inp(2 * NF, 1, -4.f, 4.f), dout(NF, 2), dinp(2 * NF, 3);
    run_against_reference(
        st,
        [&] { merino::bench::naive_swiglu_backward<T>(dinp.get(), dout.get(), inp.get(), N, F); },
        [&] { merino::cuda::swiglu_backward<T>(dinp.get(), dout.get(), inp.get(), N, F); },
        gb_per_s(5.0 * NF * sizeof(T)), kTiming);  // read gate, up, dout; write dgate, dup
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

int main(int argc, char** argv) { return merino::bench::cuda_benchmark_main(argc, argv); }

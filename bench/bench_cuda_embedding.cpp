// Embedding and RoPE benchmarks (kernels/cuda/embedding.cu, kernels/cuda/rope.cu) at GPT-2 small
// shapes: B*T = 8 x 1024 rows, C = 768, V = 50257 (RoPE: 12 q heads, `kvh` kv heads, hd = 64).
// Compiled as CUDA (CMake sets LANGUAGE CUDA) because the naive reference kernels (variant 0,
// numbered as in llm.c's dev/cuda) live here:
//   * forward: one thread per row, scalar loads over C;
//   * backward: one thread per dout element, atomicAdd into dwte and dwpe (fast to write,
//     non-deterministic: the baseline the sorted, atomic-free design is measured against);
//   * RoPE: one thread per (row, head, pair) computing its own angle and double sincos.
// Variant 1 is merino's kernel. `bf16` selects __nv_bfloat16 tensors. Backward takes `tokens`:
// 0 = uniform over the vocabulary, 1 = Zipf-like (P(rank k) ~ 1/k, the most frequent token ~9%
// of the batch, like real text), 2 = one token everywhere (the worst case for the sort: a single
// run spanning every tile).
// Counters:
//   GB/s            the bytes the kernel must move / time (forward: read two rows, write one;
//                   backward: read dout, read+write each touched dwte row and the dwpe rows;
//                   RoPE: read+write the q and k heads); the same byte count for variant 0
//   speedup_vs_ref  variant 0 time measured in the same run / this time; ref_ms that time
// Backward time includes the on-device sort (preallocated scratch); every call adds into the
// same gradient buffers, like accumulation over micro-batches.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/rope.cuh"

namespace {

using merino::bench::DeviceArray;
using merino::bench::gb_per_s;
using merino::bench::run_against_reference;

constexpr int kB = 8, kT = 1024, kC = 768, kV = 50257;
constexpr merino::bench::Timing kTiming{5, 10};  // reference calls; calls per iteration

template <class T>
__global__ void fill_kernel(T* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    const uint64_t z = merino::cuda::mix64((uint64_t(seed) << 40) ^ i);  // hash from adamw.cuh
    p[i] = T(float(z >> 40) * 0x1p-23f - 1.0f);                           // uniform in [-1, 1)
  }
}

template <class T>
DeviceArray<T> random_array(size_t n, uint32_t seed) {
  DeviceArray<T> a(n);
  fill_kernel<T><<<2048, 256>>>(a.get(), n, seed);
  CUDA_CHECK(cudaGetLastError());
  return a;
}

// host-generated token ids (see the header for the distributions)
std::vector<int32_t> make_tokens(int dist, size_t n) {
  std::mt19937 rng(7);
  std::vector<int32_t> t(n);
  if (dist == 0) {
    std::uniform_int_distribution<int32_t> u(0, kV - 1);
    for (auto& x : t) x = u(rng);
  } else if (dist == 1) {
    std::vector<double> w(kV);
    for (int k = 0; k < kV; ++k) w[size_t(k)] = 1.0 / (k + 1);
    std::discrete_distribution<int32_t> z(w.begin(), w.end());
    for (auto& x : t) x = z(rng);
  } else {
    std::fill(t.begin(), t.end(), 198);  // GPT-2's "\n"
  }
  return t;
}

// ---- variant 0 kernels ----
template <class T>
__global__ void naive_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int N,
                              int Tn, int C) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= N) return;
  const T* e = wte + size_t(tokens[r]) * C;
  const T* p = wpe + size_t(r % Tn) * C;
  for (int c = 0; c < C; ++c) out[size_t(r) * C + c] = T(float(e[c]) + float(p[c]));
}

template <class T>
__global__ void naive_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int N,
                               int Tn, int C) {
  const size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= size_t(N) * C) return;
  const int r = int(i / C), c = int(i % C);
  atomicAdd(dwte + size_t(tokens[r]) * C + c, dout[i]);
  atomicAdd(dwpe + size_t(r % Tn) * C + c, dout[i]);
}

template <class T>
__global__ void naive_rope(T* qkv, int N, int Tn, int heads, int C3, int hd, double theta) {
  const int half = hd / 2;
  const size_t idx = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (idx >= size_t(N) * heads * half) return;
  const int i = int(idx % half), h = int(idx / half % heads), r = int(idx / (size_t(half) * heads));
  double s, c;
  sincos(double(r % Tn) * pow(theta, -2.0 * i / hd), &s, &c);
  T* x = qkv + size_t(r) * C3 + size_t(h) * hd + i;
  const float x0 = float(x[0]), x1 = float(x[half]);
  x[0] = T(x0 * float(c) - x1 * float(s));
  x[half] = T(x0 * float(s) + x1 * float(c));
}

template <class T>
void forward_bench(benchmark::State& st) {
  const int N = kB * kT;
  DeviceArray<T> wte = random_array<T>(size_t(kV) * kC, 1),
                 wpe = random_array<T>(size_t(kT) * kC, 2), out(size_t(N) * kC);
  DeviceArray<int32_t> tok(N);
  const std::vector<int32_t> t = make_tokens(0, size_t(N));
  CUDA_CHECK(cudaMemcpy(tok.get(), t.data(), t.size() * 4, cudaMemcpyHostToDevice));
  run_against_reference(
      st,
      [&] {
        naive_forward<T>
            <<<(N + 127) / 128, 128>>>(out.get(), tok.get(), wte.get(), wpe.get(), N, kT, kC);
        CUDA_CHECK(cudaGetLastError());
      },
      [&] {
        merino::cuda::embedding_forward(out.get(), tok.get(), wte.get(), wpe.get(), kB, kT, kC, 0);
      },
      gb_per_s(3.0 * N * kC * sizeof(T)), kTiming);
}

void BM_EmbeddingForward(benchmark::State& st) {
  if (st.range(1)) {
    forward_bench<__nv_bfloat16>(st);
  } else {
    forward_bench<float>(st);
  }
}

template <class T>
void backward_bench(benchmark::State& st) {
  const int N = kB * kT;
  const std::vector<int32_t> t = make_tokens(int(st.range(2)), size_t(N));
  std::vector<int32_t> uniq = t;
  std::sort(uniq.begin(), uniq.end());
  const size_t distinct = size_t(std::unique(uniq.begin(), uniq.end()) - uniq.begin());
  st.counters["distinct_tokens"] = double(distinct);
  DeviceArray<T> dwte = random_array<T>(size_t(kV) * kC, 1),
                 dwpe = random_array<T>(size_t(kT) * kC, 2),
                 dout = random_array<T>(size_t(N) * kC, 3);
  DeviceArray<int32_t> tok(N);
  DeviceArray<char> scratch(merino::cuda::embedding_backward_scratch_bytes(kB, kT, kC));
  CUDA_CHECK(cudaMemcpy(tok.get(), t.data(), t.size() * 4, cudaMemcpyHostToDevice));
  const size_t threads = size_t(N) * kC;
  run_against_reference(
      st,
      [&] {
        naive_backward<T><<<unsigned((threads + 255) / 256), 256>>>(
            dwte.get(), dwpe.get(), dout.get(), tok.get(), N, kT, kC);
        CUDA_CHECK(cudaGetLastError());
      },
      [&] {
        merino::cuda::embedding_backward(dwte.get(), dwpe.get(), dout.get(), tok.get(), kB, kT, kC,
                                         0, 0, scratch.get());
      },
      gb_per_s(double(N + 2 * distinct + 2 * kT) * kC * sizeof(T)), kTiming);
}

void BM_EmbeddingBackward(benchmark::State& st) {
  if (st.range(1)) {
    backward_bench<__nv_bfloat16>(st);
  } else {
    backward_bench<float>(st);
  }
}

template <class T>
void rope_bench(benchmark::State& st) {
  const int H = 12, KVH = int(st.range(2)), hd = 64, N = kB * kT;
  const int C3 = (H + 2 * KVH) * hd;
  DeviceArray<T> qkv = random_array<T>(size_t(N) * C3, 4);
  const size_t pairs = size_t(N) * (H + KVH) * (hd / 2);
  run_against_reference(
      st,
      [&] {
        naive_rope<T>
            <<<unsigned((pairs + 255) / 256), 256>>>(qkv.get(), N, kT, H + KVH, C3, hd, 10000.0);
        CUDA_CHECK(cudaGetLastError());
      },
      [&] { merino::cuda::rope_forward(qkv.get(), kB, kT, H, KVH, hd, 10000.0); },
      gb_per_s(2.0 * N * (H + KVH) * hd * sizeof(T)), kTiming);
}

void BM_RopeForward(benchmark::State& st) {
  if (st.range(1)) {
    rope_bench<__nv_bfloat16>(st);
  } else {
    rope_bench<float>(st);
  }
}

void fwd_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "bf16"});
  for (int bf : {0, 1})
    for (int v : {0, 1}) b->Args({v, bf});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}
void bwd_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "bf16", "tokens"});
  for (int dist : {0, 1, 2})
    for (int bf : {0, 1})
      for (int v : {0, 1}) b->Args({v, bf, dist});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}
void rope_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "bf16", "kvh"});
  for (int kvh : {12, 4})
    for (int bf : {0, 1})
      for (int v : {0, 1}) b->Args({v, bf, kvh});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_EmbeddingForward)->Apply(fwd_args);
BENCHMARK(BM_EmbeddingBackward)->Apply(bwd_args);
BENCHMARK(BM_RopeForward)->Apply(rope_args);

}  // namespace

int main(int argc, char** argv) { return merino::bench::cuda_benchmark_main(argc, argv); }

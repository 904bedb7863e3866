// Linear-layer benchmarks: merino::cuda::Matmul (cuBLASLt, fused epilogues, cached plans) against
// plain cuBLAS (cublasGemmEx, no epilogue) on the same buffers, for GPT-2 124M's four linear
// layers at N = B * T = 8 x 1024 tokens:
//   layer 0  c_attn       768 -> 2304
//   layer 1  attn c_proj  768 -> 768
//   layer 2  mlp c_fc     768 -> 3072
//   layer 3  mlp c_proj  3072 -> 768
//   layer 4  LM head      768 -> 50257 (GPT-2's vocabulary as is)
//   layer 5  LM head      768 -> 50304 (padded to a multiple of 128, as the model runs it)
// Arguments: variant (0 = cuBLAS reference, 1 = merino), dtype (0 = fp32, 1 = TF32, 2 = bf16:
// A/B/C bf16 with fp32 accumulation; the reference uses the same compute type), layer.
//   Forward       merino: out = inp W^T + bias (bias fused). Reference: the bare GEMM.
//   ForwardGelu   merino: out = gelu(inp W^T + bias) and the pre-activation, one fused kernel
//                 (layer 2 only). Reference: the bare GEMM, so speedup ~1 means the bias,
//                 GELU and second output cost nothing.
//   Backward      merino: dinp =, dweight +=, dbias += (deterministic column sums). Reference:
//                 the same two GEMMs (beta 0, beta 1) and dbias as a GEMV with a ones vector.
//   BackwardGelu  merino: backward_gelu, dpre = (dout W) * gelu'(pre) from one GEMM with the
//                 DGELU epilogue, then dweight, dbias (layer 3 only). Reference: the previous
//                 path, merino's backward then gelu_backward over dinp (a write, a re-read
//                 with pre and a rewrite of the [N, 3072] tensor).
//   Forward and Backward also run the LM head (layers 4, 5): TFLOP/s of 5 against 4 is what
//   padding the vocabulary buys.
// Counters:
//   TFLOP/s         2 N IC OC per GEMM (backward: 2 GEMMs; bias and dbias are not counted)
//                   / time per call
//   speedup_vs_ref  reference time / this variant's time (about 1 for variant 0)
//   ref_ms          the reference time per call measured in this run
// GPU time from CUDA events (manual time); the CPU time column is meaningless here.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_random_fill.cuh"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/matmul.cuh"

namespace {

using bf16 = __nv_bfloat16;
using merino::bench::RandomArray;
using merino::bench::run_against_reference;
using merino::bench::tflop_per_s;

constexpr int kTokens = 8 * 1024;
struct Layer {
  int IC, OC;
};
constexpr Layer kLayers[] = {{768, 2304}, {768, 768},   {768, 3072},
                             {3072, 768}, {768, 50257}, {768, 50304}};
constexpr merino::bench::Timing kTiming{5, 5};  // reference calls; calls per iteration

void cublas_check(cublasStatus_t st, const char* call) {
  if (st != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(call) + " returned " + cublasGetStatusName(st));
  }
}

// One cuBLAS handle for the whole program (created on first use).
cublasHandle_t cublas() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    cublas_check(cublasCreate(&h), "cublasCreate");
    return h;
  }();
  return handle;
}

// column-major C[m, n] = op(A) op(B) + beta C through cublasGemmEx, in T with fp32 accumulation
template <class T>
void reference_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* A,
                    int lda, const T* B, int ldb, float beta, T* C, bool tf32) {
  const cudaDataType_t t = std::is_same<T, float>::value ? CUDA_R_32F : CUDA_R_16BF;
  const float alpha = 1.0f;
  cublas_check(
      cublasGemmEx(cublas(), ta, tb, m, n, k, &alpha, A, t, lda, B, t, ldb, &beta, C, t, m,
                   tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "cublasGemmEx");
}

template <class T>
struct Forward {
  static void run(benchmark::State& st, bool tf32, bool gelu) {
    const Layer L = kLayers[st.range(2)];
    const int N = kTokens;
    const size_t NI = size_t(N) * L.IC, NO = size_t(N) * L.OC, OI = size_t(L.OC) * L.IC;
    RandomArray<T> inp(NI, 1), w(OI, 2, -0.05f, 0.05f), bias(L.OC, 3), out(NO, 4), pre(NO, 5);
    merino::cuda::Matmul mm;
    mm.allow_tf32(tf32);
    run_against_reference(
        st,
        [&] {  // out^T[OC, N] = W^T' inp^T
          reference_gemm<T>(CUBLAS_OP_T, CUBLAS_OP_N, L.OC, N, L.IC, w.get(), L.IC, inp.get(), L.IC,
                            0.0f, out.get(), tf32);
        },
        [&] {
          if (gelu) {
            mm.forward_gelu<T>(out.get(), pre.get(), inp.get(), w.get(), bias.get(), N, L.IC, L.OC);
          } else {
            mm.forward<T>(out.get(), inp.get(), w.get(), bias.get(), N, L.IC, L.OC);
          }
        },
        tflop_per_s(2.0 * N * L.IC * L.OC), kTiming);
  }
};

// Gradients accumulate across the calls; with these scales they stay finite.
template <class T>
struct Backward {
  static void run(benchmark::State& st, bool tf32, bool) {
    const Layer L = kLayers[st.range(2)];
    const int N = kTokens;
    const size_t NI = size_t(N) * L.IC, NO = size_t(N) * L.OC, OI = size_t(L.OC) * L.IC;
    RandomArray<T> inp(NI, 1), w(OI, 2, -0.05f, 0.05f), dout(NO, 3, -1e-3f, 1e-3f), dinp(NI, 4),
        dw(OI, 5), db(L.OC, 6), ones(N, 7, 1.f, 1.f);
    merino::cuda::Matmul mm;
    mm.allow_tf32(tf32);
    run_against_reference(
        st,
        [&] {
          // dinp^T[IC, N] = W^T dout^T; dweight^T[IC, OC] += inp^T dout; dbias[OC] += dout^T 1
          reference_gemm<T>(CUBLAS_OP_N, CUBLAS_OP_N, L.IC, N, L.OC, w.get(), L.IC, dout.get(),
                            L.OC, 0.0f, dinp.get(), tf32);
          reference_gemm<T>(CUBLAS_OP_N, CUBLAS_OP_T, L.IC, L.OC, N, inp.get(), L.IC, dout.get(),
                            L.OC, 1.0f, dw.get(), tf32);
          reference_gemm<T>(CUBLAS_OP_N, CUBLAS_OP_N, L.OC, 1, N, dout.get(), L.OC, ones.get(), N,
                            1.0f, db.get(), tf32);
        },
        [&] {
          mm.backward<T>(dinp.get(), dw.get(), db.get(), dout.get(), inp.get(), w.get(), N, L.IC,
                         L.OC);
        },
        tflop_per_s(4.0 * N * L.IC * L.OC), kTiming);
  }
};

// The c_proj backward with the GELU before it: the unfused pair against backward_gelu.
template <class T>
struct BackwardGelu {
  static void run(benchmark::State& st, bool tf32, bool) {
    const Layer L = kLayers[st.range(2)];
    const int N = kTokens;
    const size_t NI = size_t(N) * L.IC, NO = size_t(N) * L.OC, OI = size_t(L.OC) * L.IC;
    RandomArray<T> pre(NI, 1, -3.f, 3.f), inp(NI, 2), w(OI, 3, -0.05f, 0.05f),
        dout(NO, 4, -1e-3f, 1e-3f), dpre(NI, 5), dw(OI, 6), db(L.OC, 7);
    merino::cuda::Matmul mm;
    mm.allow_tf32(tf32);
    run_against_reference(
        st,
        [&] {
          mm.backward<T>(dpre.get(), dw.get(), db.get(), dout.get(), inp.get(), w.get(), N, L.IC,
                         L.OC);
          merino::cuda::gelu_backward(dpre.get(), dpre.get(), pre.get(), NI);
        },
        [&] {
          mm.backward_gelu<T>(dpre.get(), dw.get(), db.get(), dout.get(), inp.get(), pre.get(),
                              w.get(), N, L.IC, L.OC);
        },
        tflop_per_s(4.0 * N * L.IC * L.OC), kTiming);
  }
};

// dtype argument: 0 = fp32, 1 = TF32, 2 = bf16; errors are reported as a skipped benchmark
template <template <class> class Body>
void dispatch(benchmark::State& st, bool gelu) {
  try {
    const int64_t dtype = st.range(1);
    if (dtype == 2) {
      Body<bf16>::run(st, false, gelu);
    } else {
      Body<float>::run(st, dtype == 1, gelu);
    }
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

void BM_MatmulForward(benchmark::State& st) { dispatch<Forward>(st, false); }
void BM_MatmulForwardGelu(benchmark::State& st) { dispatch<Forward>(st, true); }
void BM_MatmulBackward(benchmark::State& st) { dispatch<Backward>(st, false); }
void BM_MatmulBackwardGelu(benchmark::State& st) { dispatch<BackwardGelu>(st, false); }

void layer_args(benchmark::internal::Benchmark* b, std::initializer_list<int> layers) {
  b->ArgNames({"variant", "dtype", "layer"});
  for (int layer : layers)
    for (int dtype : {0, 1, 2})
      for (int v : {0, 1}) b->Args({v, dtype, layer});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

void all_layers(benchmark::internal::Benchmark* b) { layer_args(b, {0, 1, 2, 3, 4, 5}); }
void mlp_fc(benchmark::internal::Benchmark* b) { layer_args(b, {2}); }
void mlp_proj(benchmark::internal::Benchmark* b) { layer_args(b, {3}); }

BENCHMARK(BM_MatmulForward)->Apply(all_layers);
BENCHMARK(BM_MatmulForwardGelu)->Apply(mlp_fc);
BENCHMARK(BM_MatmulBackward)->Apply(all_layers);
BENCHMARK(BM_MatmulBackwardGelu)->Apply(mlp_proj);

}  // namespace

int main(int argc, char** argv) { return merino::bench::cuda_benchmark_main(argc, argv); }

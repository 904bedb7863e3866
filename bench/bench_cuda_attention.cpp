// Causal attention benchmarks: merino::cuda::attention_forward / _backward (flash-style, no
// T x T matrix in memory), both versions (v1: attention.cu, wmma; v2: attention_v2.cu,
// mma.sync with scores in registers), against an unfused reference attention written here,
// timed in the same run on the same inputs. cudnn_frontend (for cuDNN's fused SDPA) is not
// installed on the build machine, so the reference is the textbook three-step attention, with
// cuBLAS for the products (cublasGemmBatchedEx, one GEMM per (batch, head) in one call, fp32
// compute):
//   forward   S = scale Q K^T stored as fp32 [B, H, T, T]; a causal-softmax kernel writes
//             P [B, H, T, T] (element type) and lse; O = P V.
//   backward  dP = dO V^T (fp32, T x T); a kernel writes dS = P (dP - rowsum(P dP));
//             dV = P^T dO, dK = scale dS^T Q, dQ = scale dS K. The k/v gradients of a GQA
//             group are summed by running the group's heads one after another with beta = 1.
//             It reuses the P its forward stored; merino recomputes P from lse.
// The GEMMs compute the whole T x T square (the masked half is zeros), as unfused attention
// does. cuDNN's fused SDPA on these shapes: bench/pytorch_attention.py (through PyTorch).
// Args: variant 0 = reference, 1 = merino v1, 2 = merino v2 (its fp32 is v1's fp32 kernels, so
// fp32 rows of 1 and 2 time the same code); dtype 0 = fp32, 1 = bf16; shape:
//   shape 0  GPT-2 124M     B = 8, T = 1024, H = 12, KVH = 12, hd = 64
//   shape 1  MobileLLM-125M B = 8, T = 1024, H = 9,  KVH = 3,  hd = 64
//   shape 2  MeRino-64M     B = 8, T = 1024, H = 15, KVH = 15, hd = 48 (blocks 1 and 3 have
//                           hd 48: an odd number of 16-column fragments)
//   shape 3  MeRino-64M     B = 8, T = 1024, H = 10, KVH = 10, hd = 96 (block 2)
//   shape 4  hd 128, GQA 4  B = 4, T = 2048, H = 16, KVH = 4,  hd = 128 (Llama-style heads)
// (bench/pytorch_attention.py's SHAPES must list the same shapes.)
// Counters:
//   TFLOP/s         useful causal FLOPs / time: forward 2 B H hd T (T + 1) (the two products
//                   over the T (T + 1) / 2 visible pairs), backward 2.5x that (five products;
//                   FlashAttention-2's convention). Both variants are credited the same FLOPs.
//   speedup_vs_ref  reference time / this variant's time (about 1 for variant 0)
//   ref_ms          the reference time per call measured in this run
//   max_diff_vs_ref max |merino - reference| over out (forward) or dqkv (backward): a
//                   cross-check of the two implementations on the GPU
// GPU time from CUDA events (manual time); the CPU time column is meaningless here.
// Without a CUDA device the program prints "SKIPPED: no CUDA device (...)" and exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

namespace {

using bf16 = __nv_bfloat16;

#define CUBLAS_CHECK(expr)                                                                \
  do {                                                                                    \
    const cublasStatus_t merino_cublas_st_ = (expr);                                      \
    if (merino_cublas_st_ != CUBLAS_STATUS_SUCCESS) {                                     \
      throw std::runtime_error(std::string("cuBLAS error ") +                             \
                               std::to_string(static_cast<int>(merino_cublas_st_)) +      \
                               " in " #expr);                                             \
    }                                                                                     \
  } while (0)

struct Shape {
  int B, T, H, KVH, hd;
};
constexpr Shape kShapes[] = {
    {8, 1024, 12, 12, 64}, {8, 1024, 9, 3, 64}, {8, 1024, 15, 15, 48}, {8, 1024, 10, 10, 96},
    {4, 2048, 16, 4, 128}};
constexpr int kBatch = 5;  // calls per benchmark iteration

// ---------------------------------------------------------------------------------------------
// device helpers and the reference's two element-wise kernels

using merino::cuda::vec::from_float;
using merino::cuda::vec::to_float;

template <class T>
__global__ void fill_kernel(T* p, size_t n, uint32_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ (seed * 0x9e3779b9u) ^ uint32_t(i >> 32);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    p[i] = from_float<T>(lo + (hi - lo) * (h >> 8) * (1.f / 16777216.f));
  }
}

template <class T>
__global__ void to_float_kernel(float* dst, const T* src, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    dst[i] = to_float(src[i]);
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One warp per score row (bh, i): P[j] = exp(S[j] - max) / sum for j <= i, 0 beyond; lse.
template <class T>
__global__ void naive_causal_softmax(T* P, float* lse, const float* S, int rows, int Tn) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int i = row % Tn;
  const float* s = S + size_t(row) * Tn;
  T* p = P + size_t(row) * Tn;
  float mx = -INFINITY;
  for (int j = lane; j <= i; j += 32) mx = fmaxf(mx, s[j]);
  mx = warp_max(mx);
  float sum = 0.f;
  for (int j = lane; j <= i; j += 32) sum += expf(s[j] - mx);
  sum = warp_sum(sum);
  const float inv = 1.f / sum;
  for (int j = lane; j < Tn; j += 32) p[j] = from_float<T>(j <= i ? expf(s[j] - mx) * inv : 0.f);
  if (lane == 0) lse[row] = mx + logf(sum);
}

// One warp per row: dS[j] = P[j] (dP[j] - sum_k P[k] dP[k]).
template <class T>
__global__ void naive_softmax_backward(T* dS, const T* P, const float* dP, int rows, int Tn) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const size_t off = size_t(row) * Tn;
  float D = 0.f;
  for (int j = lane; j < Tn; j += 32) D += to_float(P[off + j]) * dP[off + j];
  D = warp_sum(D);
  for (int j = lane; j < Tn; j += 32)
    dS[off + j] = from_float<T>(to_float(P[off + j]) * (dP[off + j] - D));
}

// ---------------------------------------------------------------------------------------------
// host side

template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    CUDA_CHECK(cudaMalloc(&p_, (n == 0 ? 1 : n) * sizeof(T)));
  }
  DeviceArray(size_t n, uint32_t seed, float lo, float hi) : DeviceArray(n) {
    fill_kernel<T><<<1024, 256>>>(p_, n, seed, lo, hi);
    CUDA_CHECK(cudaGetLastError());
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(p_); }
  T* get() const { return p_; }
  size_t size() const { return n_; }
  // the contents widened to float, on the host
  std::vector<float> host_floats() const {
    float* tmp = nullptr;
    CUDA_CHECK(cudaMalloc(&tmp, n_ * sizeof(float)));
    to_float_kernel<T><<<1024, 256>>>(tmp, p_, n_);
    std::vector<float> h(n_);
    const cudaError_t err = cudaMemcpy(h.data(), tmp, n_ * sizeof(float), cudaMemcpyDeviceToHost);
    cudaFree(tmp);
    CUDA_CHECK(err);
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - b[i]);
    m = std::isfinite(d) ? std::max(m, d) : INFINITY;
  }
  return m;
}

cublasHandle_t cublas() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    CUBLAS_CHECK(cublasCreate(&h));
    return h;
  }();
  return handle;
}

template <class T>
constexpr cudaDataType_t cuda_type() {
  return std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;
}

// A device array of pointers for cublasGemmBatchedEx.
class PointerArray {
 public:
  explicit PointerArray(const std::vector<const void*>& host) : n_(host.size()) {
    CUDA_CHECK(cudaMalloc(&p_, host.size() * sizeof(void*)));
    CUDA_CHECK(cudaMemcpy(p_, host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice));
  }
  PointerArray(const PointerArray&) = delete;
  PointerArray& operator=(const PointerArray&) = delete;
  ~PointerArray() { cudaFree(p_); }
  const void* const* in() const { return p_; }
  void* const* out() const { return const_cast<void* const*>(p_); }
  int count() const { return static_cast<int>(n_); }

 private:
  const void** p_ = nullptr;
  size_t n_;
};

// Column-major cuBLAS view of the row-major products: a row-major X (m x n, row stride ld) is the
// column-major X^T, so C = A B (row-major) is computed as C^T = B^T A^T.
template <class T>
void gemm_batched(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                  const PointerArray& A, cudaDataType_t at, int lda, const PointerArray& B,
                  cudaDataType_t bt, int ldb, float beta, const PointerArray& C,
                  cudaDataType_t ct, int ldc) {
  CUBLAS_CHECK(cublasGemmBatchedEx(cublas(), ta, tb, m, n, k, &alpha, A.in(), at, lda, B.in(), bt,
                                   ldb, &beta, C.out(), ct, ldc, C.count(), CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
}

// The unfused reference: buffers for S / dP (fp32) and P / dS (T) plus per-(batch, head)
// pointer arrays into the fused qkv / out / dqkv layout.
template <class T>
class ReferenceAttention {
 public:
  ReferenceAttention(const Shape& s, T* dqkv, const T* dout, const T* qkv, T* out)
      : s_(s), S_(size_t(s.B) * s.H * s.T * s.T), P_(S_.size()), dS_(S_.size()),
        lse_(size_t(s.B) * s.H * s.T) {
    const int group = s.H / s.KVH;
    const size_t C3 = size_t(s.H + 2 * s.KVH) * s.hd, Cq = size_t(s.H) * s.hd;
    const size_t TT = size_t(s.T) * s.T;
    std::vector<const void*> q, k, v, o, dO, S, P, dS, dQ;
    for (int b = 0; b < s.B; ++b) {
      for (int h = 0; h < s.H; ++h) {
        const size_t row0 = size_t(b) * s.T, bh = size_t(b) * s.H + h;
        const int kvh = h / group;
        q.push_back(qkv + row0 * C3 + size_t(h) * s.hd);
        k.push_back(qkv + row0 * C3 + Cq + size_t(kvh) * s.hd);
        v.push_back(qkv + row0 * C3 + Cq + size_t(s.KVH + kvh) * s.hd);
        o.push_back(out + row0 * Cq + size_t(h) * s.hd);
        dO.push_back(dout + row0 * Cq + size_t(h) * s.hd);
        S.push_back(S_.get() + bh * TT);
        P.push_back(P_.get() + bh * TT);
        dS.push_back(dS_.get() + bh * TT);
        dQ.push_back(dqkv + row0 * C3 + size_t(h) * s.hd);
      }
    }
    q_.reset(new PointerArray(q));
    k_.reset(new PointerArray(k));
    v_.reset(new PointerArray(v));
    o_.reset(new PointerArray(o));
    do_.reset(new PointerArray(dO));
    s_ptr_.reset(new PointerArray(S));
    p_ptr_.reset(new PointerArray(P));
    ds_ptr_.reset(new PointerArray(dS));
    dq_.reset(new PointerArray(dQ));
    // per group member g: the (batch, kv head) batches whose query head is kvh * group + g
    for (int g = 0; g < group; ++g) {
      std::vector<const void*> gq, gdo, gp, gds, gdk, gdv;
      for (int b = 0; b < s.B; ++b) {
        for (int kvh = 0; kvh < s.KVH; ++kvh) {
          const size_t bh = size_t(b) * s.H + size_t(kvh) * group + g;
          gq.push_back(q[bh]);
          gdo.push_back(dO[bh]);
          gp.push_back(P[bh]);
          gds.push_back(dS[bh]);
          const size_t row0 = size_t(b) * s.T;
          gdk.push_back(dqkv + row0 * C3 + Cq + size_t(kvh) * s.hd);
          gdv.push_back(dqkv + row0 * C3 + Cq + size_t(s.KVH + kvh) * s.hd);
        }
      }
      groups_.push_back({std::make_unique<PointerArray>(gq), std::make_unique<PointerArray>(gdo),
                         std::make_unique<PointerArray>(gp), std::make_unique<PointerArray>(gds),
                         std::make_unique<PointerArray>(gdk),
                         std::make_unique<PointerArray>(gdv)});
    }
  }

  void forward() {
    const int Tn = s_.T, hd = s_.hd, rows = s_.B * s_.H * Tn;
    const int C3 = (s_.H + 2 * s_.KVH) * hd, Cq = s_.H * hd;
    const float scale = 1.f / std::sqrt(float(hd));
    constexpr cudaDataType_t et = cuda_type<T>();
    // S^T = K Q^T (column-major): S[i][j] = scale q_i . k_j
    gemm_batched<T>(CUBLAS_OP_T, CUBLAS_OP_N, Tn, Tn, hd, scale, *k_, et, C3, *q_, et, C3, 0.f,
                    *s_ptr_, CUDA_R_32F, Tn);
    naive_causal_softmax<T><<<(rows + 7) / 8, 256>>>(P_.get(), lse_.get(), S_.get(), rows, Tn);
    CUDA_CHECK(cudaGetLastError());
    // O^T = V^T P^T
    gemm_batched<T>(CUBLAS_OP_N, CUBLAS_OP_N, hd, Tn, Tn, 1.f, *v_, et, C3, *p_ptr_, et, Tn,
                    0.f, *o_, et, Cq);
  }

  void backward() {
    const int Tn = s_.T, hd = s_.hd, rows = s_.B * s_.H * Tn;
    const int C3 = (s_.H + 2 * s_.KVH) * hd, Cq = s_.H * hd;
    const float scale = 1.f / std::sqrt(float(hd));
    constexpr cudaDataType_t et = cuda_type<T>();
    // dP^T = V dO^T, into the S buffer
    gemm_batched<T>(CUBLAS_OP_T, CUBLAS_OP_N, Tn, Tn, hd, 1.f, *v_, et, C3, *do_, et, Cq, 0.f,
                    *s_ptr_, CUDA_R_32F, Tn);
    naive_softmax_backward<T><<<(rows + 7) / 8, 256>>>(dS_.get(), P_.get(), S_.get(), rows, Tn);
    CUDA_CHECK(cudaGetLastError());
    // dQ^T = scale K^T dS^T
    gemm_batched<T>(CUBLAS_OP_N, CUBLAS_OP_N, hd, Tn, Tn, scale, *k_, et, C3, *ds_ptr_, et, Tn,
                    0.f, *dq_, et, C3);
    for (size_t g = 0; g < groups_.size(); ++g) {
      const Group& gr = groups_[g];
      const float beta = g == 0 ? 0.f : 1.f;
      // dV^T = dO^T P, dK^T = scale Q^T dS
      gemm_batched<T>(CUBLAS_OP_N, CUBLAS_OP_T, hd, Tn, Tn, 1.f, *gr.dO, et, Cq, *gr.P, et, Tn,
                      beta, *gr.dV, et, C3);
      gemm_batched<T>(CUBLAS_OP_N, CUBLAS_OP_T, hd, Tn, Tn, scale, *gr.q, et, C3, *gr.dS, et, Tn,
                      beta, *gr.dK, et, C3);
    }
  }

 private:
  struct Group {
    std::unique_ptr<PointerArray> q, dO, P, dS, dK, dV;
  };
  Shape s_;
  DeviceArray<float> S_;
  DeviceArray<T> P_, dS_;
  DeviceArray<float> lse_;
  std::unique_ptr<PointerArray> q_, k_, v_, o_, do_, s_ptr_, p_ptr_, ds_ptr_, dq_;
  std::vector<Group> groups_;
};

double forward_flops(const Shape& s) {
  return 2.0 * s.B * s.H * s.hd * double(s.T) * (s.T + 1);
}

template <class T>
void attention_bench(benchmark::State& st, bool backward) {
  try {
    const Shape s = kShapes[st.range(2)];
    const size_t C3 = size_t(s.H + 2 * s.KVH) * s.hd, BT = size_t(s.B) * s.T;
    DeviceArray<T> qkv(BT * C3, 1, -1.f, 1.f), dout(BT * s.H * s.hd, 2, -1.f, 1.f),
        out(BT * s.H * s.hd), ref_out(BT * s.H * s.hd), dqkv(BT * C3), ref_dqkv(BT * C3);
    DeviceArray<float> lse(size_t(s.B) * s.H * s.T),
        scratch(merino::cuda::attention_backward_scratch_floats(s.B, s.T, s.H));
    ReferenceAttention<T> ref(s, ref_dqkv.get(), dout.get(), qkv.get(), ref_out.get());
    // variant 0 times the reference; the merino kernels still run once, for max_diff_vs_ref
    const merino::cuda::AttentionKernel kernel =
        st.range(0) == 1 ? merino::cuda::AttentionKernel::v1 : merino::cuda::AttentionKernel::v2;
    const auto merino_fwd = [&] {
      merino::cuda::attention_forward<T>(kernel, out.get(), lse.get(), qkv.get(), s.B, s.T, s.H,
                                         s.KVH, s.hd);
    };
    const auto merino_bwd = [&] {
      merino::cuda::attention_backward<T>(kernel, dqkv.get(), dout.get(), qkv.get(), out.get(),
                                          lse.get(), s.B, s.T, s.H, s.KVH, s.hd, 0,
                                          scratch.get());
    };
    merino_fwd();   // out and lse for merino's backward
    ref.forward();  // leaves its P behind for its backward
    if (backward) {
      merino::bench::run_against_reference(st, [&] { ref.backward(); }, merino_bwd,
                                           merino::bench::tflop_per_s(2.5 * forward_flops(s)),
                                           {3, kBatch});
      st.counters["max_diff_vs_ref"] = max_abs_diff(dqkv.host_floats(), ref_dqkv.host_floats());
    } else {
      merino::bench::run_against_reference(st, [&] { ref.forward(); }, merino_fwd,
                                           merino::bench::tflop_per_s(forward_flops(s)), {3, kBatch});
      st.counters["max_diff_vs_ref"] = max_abs_diff(out.host_floats(), ref_out.host_floats());
    }
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

void BM_AttentionForward(benchmark::State& st) {
  if (st.range(1) == 0) {
    attention_bench<float>(st, false);
  } else {
    attention_bench<bf16>(st, false);
  }
}

void BM_AttentionBackward(benchmark::State& st) {
  if (st.range(1) == 0) {
    attention_bench<float>(st, true);
  } else {
    attention_bench<bf16>(st, true);
  }
}

void attention_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"variant", "dtype", "shape"});
  for (int shape : {0, 1, 2, 3, 4})
    for (int dtype : {0, 1})
      for (int v : {0, 1, 2}) b->Args({v, dtype, shape});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_AttentionForward)->Apply(attention_args);
BENCHMARK(BM_AttentionBackward)->Apply(attention_args);

}  // namespace

int main(int argc, char** argv) { return merino::bench::cuda_benchmark_main(argc, argv); }

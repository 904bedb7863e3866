// Causal grouped-query attention, FlashAttention-2 style; CPU twin: kernels/cpu/attention.cpp.
//
// Design (after Dao, "FlashAttention-2: Faster Attention with Better Parallelism and Work
// Partitioning", 2023, Algorithms 1 and 2; written from scratch for this project):
// * Forward: one block per (query tile, head, batch). The block keeps its query tile in shared
//   memory and streams key/value tiles through it, left to right, only up to the diagonal
//   (causal tile skipping). Scores, the running row maximum m and row sum l stay on chip
//   (online softmax: when m grows, l and the output accumulator are rescaled by
//   exp(m_old - m_new)); only out and lse = m + log l leave the block. Scores are multiplied by
//   scale * log2(e) so that exp2f does the exponentials. Query tiles are launched last-first:
//   the tiles near the end of the sequence see the most keys, so they start first.
// * Backward recomputes P = exp(score - lse) tile by tile instead of storing it, in three
//   kernels: (1) D = rowsum(dout * out) per row (the softmax-gradient term sum_j P_ij dP_ij);
//   (2) one block per (kv tile, kv head, batch) holds its K and V tile and its dK / dV
//   accumulators and loops over the query heads of its group and, within each head, over the
//   query tiles at or below the diagonal, accumulating dV += P^T dO and dK += dS^T Q; a kv head
//   shared by several query heads therefore sums their contributions in one fixed order with
//   no atomics; (3) one block per (query tile, head, batch) loops over the kv tiles up to the
//   diagonal, recomputing P and dS, and accumulates dQ += dS K. Kernel (3) repeats the S and dP
//   products of kernel (2) (7 tile products instead of 5) in exchange for no float atomics on
//   dQ: the result is bitwise reproducible and independent of scheduling.
// * Everything is written (=), never accumulated: attention reads the fused qkv projection and
//   produces all of dqkv, as the CPU twin does.
// * Two instantiations share this structure. fp32: plain FMA loops (each of 256 threads owns a
//   4 x J micro-tile at rows ty + 16 i, columns tx + 16 j; shared rows padded by one float so
//   both row- and column-wise reads are free of bank conflicts), so the result follows the CPU
//   twin closely. bf16: tiles are bf16 in shared memory and every tile product runs on tensor
//   cores through nvcuda::wmma (16x16x16 bf16 fragments, fp32 accumulators); the softmax,
//   masking and rescaling stay in fp32. The accumulator layout of a wmma fragment is opaque, so
//   products whose result needs per-row work (S, dP, and the forward's P V before rescaling)
//   go through a per-warp fp32 staging tile in shared memory; dK, dV and dQ stay in fragments
//   for the whole loop, because they are only ever added to. P and dS are rounded to bf16 to
//   feed the tensor cores, as in FlashAttention-2. Forward: 4 warps of 16 query rows; backward:
//   8 warps as 4 row blocks x 2 halves of the hd / 16 gradient fragments (for hd = 48, 80, 112
//   the second half holds one fragment fewer and idles for it rather than split a fragment).
// * Head sizes: every multiple of 16 from 32 to 128, each its own template instance (the
//   register tiles and unrolled loops need HD at compile time; 16 is the wmma fragment width).
// * Tiles: fp32 64 own rows x 64 streamed rows for hd <= 64, 64 x 32 for hd > 64 (the
//   streamed tiles grow with hd; 32 keeps the hd = 128 forward at 73 KiB of shared memory, 3
//   blocks per H100 SM); bf16 64 x 64 throughout. Rows past T are loaded as zeros and masked,
//   so any T works. Loads are 16-byte vectors when every base pointer is 16-byte aligned (hd is
//   a multiple of 16, so then every row is), element by element otherwise.
#include "kernels/cuda/attention.cuh"

#include <mma.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda/attention_launch.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

namespace merino::cuda {
namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;
using namespace attention_launch;
using vec::to_float;
using vec::warp_max;
using vec::warp_sum;

constexpr int kWarp = 32;
constexpr float kLn2 = 0.6931471805599453f;

// Rows [row0, row0 + R) x columns [0, HD) of a row-major matrix (row stride `stride`
// elements) into shared memory as float with row stride LD; rows >= T become zeros.
template <int R, int HD, int LD, int NT>
__device__ __forceinline__ void load_tile(float* dst, const float* src, int64_t stride, int row0,
                                          int T, bool vec) {
  constexpr int C4 = HD / 4;
  for (int idx = threadIdx.x; idx < R * C4; idx += NT) {
    const int r = idx / C4, c = (idx % C4) * 4, row = row0 + r;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row < T) {
      const float* p = src + row * stride + c;
      v = vec ? *reinterpret_cast<const float4*>(p) : make_float4(p[0], p[1], p[2], p[3]);
    }
    float* d = dst + r * LD + c;
    d[0] = v.x;
    d[1] = v.y;
    d[2] = v.z;
    d[3] = v.w;
  }
}

// Same for bf16 tiles kept as bf16; LD * 2 bytes must be a multiple of 16 and dst 16-byte
// aligned (true for every tile below).
template <int R, int HD, int LD, int NT>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, int64_t stride, int row0,
                                          int T, bool vec) {
  constexpr int C8 = HD / 8;
  for (int idx = threadIdx.x; idx < R * C8; idx += NT) {
    const int r = idx / C8, c = (idx % C8) * 8, row = row0 + r;
    uint4 v = make_uint4(0u, 0u, 0u, 0u);  // all-zero bits are bf16 zeros
    if (row < T) {
      const bf16* p = src + row * stride + c;
      if (vec) {
        v = *reinterpret_cast<const uint4*>(p);
      } else {
        bf16* e = reinterpret_cast<bf16*>(&v);
        for (int k = 0; k < 8; ++k) e[k] = p[k];
      }
    }
    *reinterpret_cast<uint4*>(dst + r * LD + c) = v;
  }
}

// lse (pre-multiplied by log2 e, for exp2f) and D of rows [row0, row0 + R); rows >= T get 0,
// which is harmless because those rows are masked.
template <int R, int NT>
__device__ __forceinline__ void load_row_stats(float* ls, float* ds, const float* lse,
                                               const float* D, int row0, int T) {
  for (int r = threadIdx.x; r < R; r += NT) {
    const bool in = row0 + r < T;
    ls[r] = in ? lse[row0 + r] * kLog2e : 0.f;
    ds[r] = in ? D[row0 + r] : 0.f;
  }
}

// ---------------------------------------------------------------------------------------------
// D = rowsum(dout * out), one warp per (batch, position, head) row, fp32 sums.

template <class T>
__global__ void rowdot_kernel(float* __restrict__ D, const T* __restrict__ dout,
                              const T* __restrict__ out, int rows, int hd, Dims d) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;  // whole warps leave together: the shuffles stay full-warp
  const int h = row % d.H;
  const int64_t bt = row / d.H;  // b * T + t
  const int64_t off = bt * d.Cq + int64_t(h) * hd;
  float s = 0.f;
  for (int i = lane; i < hd; i += kWarp)
    s = fmaf(to_float(dout[off + i]), to_float(out[off + i]), s);
  s = warp_sum(s);
  if (lane == 0) {
    const int64_t b = bt / d.T, t = bt % d.T;
    D[(b * d.H + h) * d.T + t] = s;
  }
}

// ---------------------------------------------------------------------------------------------
// fp32: 256 threads as 16 x 16 (ty, tx); shared rows padded by one float.

constexpr int kSimtThreads = 256;

// acc[i][j] += sum_k A(ty + 16 i, k) * B(k, tx + 16 j) with A(r, k) = A[r * ARS + k * AKS] and
// B(k, c) = B[k * BKS + c * BCS]: the strides pick plain or transposed reads of a shared tile.
template <int I, int J, int K, int ARS, int AKS, int BKS, int BCS>
__device__ __forceinline__ void simt_mma(float (&acc)[I][J], const float* __restrict__ A,
                                         const float* __restrict__ B, int ty, int tx) {
#pragma unroll 4
  for (int k = 0; k < K; ++k) {
    float a[I], b[J];
#pragma unroll
    for (int i = 0; i < I; ++i) a[i] = A[(ty + 16 * i) * ARS + k * AKS];
#pragma unroll
    for (int j = 0; j < J; ++j) b[j] = B[k * BKS + (tx + 16 * j) * BCS];
#pragma unroll
    for (int i = 0; i < I; ++i)
#pragma unroll
      for (int j = 0; j < J; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

template <int HD>
struct SimtTiles {
  static_assert(HD % 16 == 0 && HD >= 32 && HD <= 128, "thread tx owns columns tx + 16 j");
  static constexpr int kRows = 64;                 // rows a block owns (queries, or keys)
  static constexpr int kStep = HD <= 64 ? 64 : 32;  // rows streamed per step
  static constexpr int kLd = HD + 1;               // padded row stride of [rows][HD] tiles
};

template <int HD>
size_t simt_forward_smem() {
  using S = SimtTiles<HD>;
  return sizeof(float) * (size_t(S::kRows) * S::kLd + 2 * S::kStep * S::kLd +
                          S::kRows * (S::kStep + 1));
}

template <int HD>
__global__ void __launch_bounds__(kSimtThreads)
    forward_simt_kernel(float* __restrict__ out, float* __restrict__ lse,
                        const float* __restrict__ qkv, Dims d) {
  using S = SimtTiles<HD>;
  constexpr int BR = S::kRows, BC = S::kStep, LD = S::kLd, LDP = BC + 1;
  constexpr int I = BR / 16, JS = BC / 16, JO = HD / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  float* Qs = reinterpret_cast<float*>(smem_raw);
  float* Ks = Qs + BR * LD;
  float* Vs = Ks + BC * LD;
  float* Ps = Vs + BC * LD;

  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BR, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / d.group;
  const float* base = qkv + int64_t(b) * d.T * d.C3;
  const float* Kg = base + d.Cq + int64_t(kvh) * HD;
  const float* Vg = base + d.Cq + int64_t(d.KVH + kvh) * HD;
  load_tile<BR, HD, LD, kSimtThreads>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);

  float o[I][JO] = {}, m[I], l[I];
#pragma unroll
  for (int i = 0; i < I; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;  // this thread's share of the row sum; the 16 shares are added at the end
  }
  const int kv_end = min(q0 + BR, d.T);  // keys past the tile's last query are all masked
  for (int k0 = 0; k0 < kv_end; k0 += BC) {
    __syncthreads();  // the previous step's reads of Ks, Vs, Ps are done
    load_tile<BC, HD, LD, kSimtThreads>(Ks, Kg, d.C3, k0, d.T, d.vec);
    load_tile<BC, HD, LD, kSimtThreads>(Vs, Vg, d.C3, k0, d.T, d.vec);
    __syncthreads();
    float s[I][JS] = {};
    simt_mma<I, JS, HD, LD, 1, 1, LD>(s, Qs, Ks, ty, tx);
#pragma unroll
    for (int i = 0; i < I; ++i) {
      const int r = ty + 16 * i, qi = q0 + r;
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < JS; ++j) {
        const int kj = k0 + tx + 16 * j;
        s[i][j] = (kj <= qi && kj < d.T) ? s[i][j] * d.scale_log2 : -INFINITY;
        mx = fmaxf(mx, s[i][j]);
      }
      // finite: key 0 is visible to every row and the first step holds it
      const float m_new = fmaxf(m[i], warp_max<16>(mx));
      const float alpha = exp2f(m[i] - m_new);  // 0 on the first step (m = -inf)
      m[i] = m_new;
      l[i] *= alpha;
#pragma unroll
      for (int j = 0; j < JO; ++j) o[i][j] *= alpha;
#pragma unroll
      for (int j = 0; j < JS; ++j) {
        const float p = exp2f(s[i][j] - m_new);
        l[i] += p;
        Ps[r * LDP + tx + 16 * j] = p;
      }
    }
    __syncthreads();
    simt_mma<I, JO, BC, LDP, 1, LD, 1>(o, Ps, Vs, ty, tx);
  }
#pragma unroll
  for (int i = 0; i < I; ++i) {
    const float sum = warp_sum<16>(l[i]);
    const int qi = q0 + ty + 16 * i;
    if (qi >= d.T) continue;
    const float inv = 1.f / sum;
    float* orow = out + (int64_t(b) * d.T + qi) * d.Cq + int64_t(h) * HD;
#pragma unroll
    for (int j = 0; j < JO; ++j) orow[tx + 16 * j] = o[i][j] * inv;
    if (tx == 0) lse[(int64_t(b) * d.H + h) * d.T + qi] = (m[i] + log2f(sum)) * kLn2;
  }
}

template <int HD>
size_t simt_backward_kv_smem() {
  using S = SimtTiles<HD>;
  return sizeof(float) * (2 * size_t(S::kRows) * S::kLd + 2 * S::kStep * S::kLd +
                          2 * S::kStep * (S::kRows + 1) + 2 * S::kStep);
}

// dK, dV for one kv tile of S::kRows keys; query tiles of S::kStep rows stream past.
template <int HD>
__global__ void __launch_bounds__(kSimtThreads)
    backward_kv_simt_kernel(float* __restrict__ dqkv, const float* __restrict__ dout,
                            const float* __restrict__ qkv, const float* __restrict__ lse,
                            const float* __restrict__ D, Dims d) {
  using S = SimtTiles<HD>;
  constexpr int BKV = S::kRows, BQ = S::kStep, LD = S::kLd, LDP = BKV + 1;
  constexpr int IQ = BQ / 16, JK = BKV / 16, IK = BKV / 16, JO = HD / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  float* Ks = reinterpret_cast<float*>(smem_raw);
  float* Vs = Ks + BKV * LD;
  float* Qs = Vs + BKV * LD;
  float* dOs = Qs + BQ * LD;
  float* Ps = dOs + BQ * LD;  // [query][key]
  float* dSs = Ps + BQ * LDP;
  float* ls = dSs + BQ * LDP;
  float* Ds = ls + BQ;

  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int k0 = blockIdx.x * BKV, kvh = blockIdx.y, b = blockIdx.z;
  const float* base = qkv + int64_t(b) * d.T * d.C3;
  const float* dObase = dout + int64_t(b) * d.T * d.Cq;
  load_tile<BKV, HD, LD, kSimtThreads>(Ks, base + d.Cq + int64_t(kvh) * HD, d.C3, k0, d.T, d.vec);
  load_tile<BKV, HD, LD, kSimtThreads>(Vs, base + d.Cq + int64_t(d.KVH + kvh) * HD, d.C3, k0,
                                       d.T, d.vec);

  float dk[IK][JO] = {}, dv[IK][JO] = {};  // rows: keys ty + 16 i; columns tx + 16 j
  for (int g = 0; g < d.group; ++g) {
    const int h = kvh * d.group + g;
    const int64_t stat = (int64_t(b) * d.H + h) * d.T;
    for (int q0 = k0; q0 < d.T; q0 += BQ) {  // query tiles before k0 see none of these keys
      __syncthreads();  // the previous step's reads of Qs, dOs, Ps, dSs are done
      load_tile<BQ, HD, LD, kSimtThreads>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);
      load_tile<BQ, HD, LD, kSimtThreads>(dOs, dObase + int64_t(h) * HD, d.Cq, q0, d.T, d.vec);
      load_row_stats<BQ, kSimtThreads>(ls, Ds, lse + stat, D + stat, q0, d.T);
      __syncthreads();
      float s[IQ][JK] = {}, dp[IQ][JK] = {};  // rows: queries ty + 16 i; columns: keys
      simt_mma<IQ, JK, HD, LD, 1, 1, LD>(s, Qs, Ks, ty, tx);
      simt_mma<IQ, JK, HD, LD, 1, 1, LD>(dp, dOs, Vs, ty, tx);
#pragma unroll
      for (int i = 0; i < IQ; ++i) {
        const int r = ty + 16 * i, qi = q0 + r;
#pragma unroll
        for (int j = 0; j < JK; ++j) {
          const int c = tx + 16 * j, kj = k0 + c;
          const float p = (kj <= qi && qi < d.T) ? exp2f(s[i][j] * d.scale_log2 - ls[r]) : 0.f;
          Ps[r * LDP + c] = p;
          dSs[r * LDP + c] = p * (dp[i][j] - Ds[r]);
        }
      }
      __syncthreads();
      // dV += P^T dO, dK += dS^T Q: A(key, query) = Ps[query * LDP + key]
      simt_mma<IK, JO, BQ, 1, LDP, LD, 1>(dv, Ps, dOs, ty, tx);
      simt_mma<IK, JO, BQ, 1, LDP, LD, 1>(dk, dSs, Qs, ty, tx);
    }
  }
#pragma unroll
  for (int i = 0; i < IK; ++i) {
    const int kj = k0 + ty + 16 * i;
    if (kj >= d.T) continue;
    float* row = dqkv + (int64_t(b) * d.T + kj) * d.C3 + d.Cq;
#pragma unroll
    for (int j = 0; j < JO; ++j) {
      row[int64_t(kvh) * HD + tx + 16 * j] = dk[i][j] * d.scale;
      row[int64_t(d.KVH + kvh) * HD + tx + 16 * j] = dv[i][j];
    }
  }
}

template <int HD>
size_t simt_backward_q_smem() {
  using S = SimtTiles<HD>;
  return sizeof(float) * (2 * size_t(S::kRows) * S::kLd + 2 * S::kStep * S::kLd +
                          S::kRows * (S::kStep + 1) + 2 * S::kRows);
}

// dQ for one query tile of S::kRows rows; kv tiles of S::kStep keys stream past.
template <int HD>
__global__ void __launch_bounds__(kSimtThreads)
    backward_q_simt_kernel(float* __restrict__ dqkv, const float* __restrict__ dout,
                           const float* __restrict__ qkv, const float* __restrict__ lse,
                           const float* __restrict__ D, Dims d) {
  using S = SimtTiles<HD>;
  constexpr int BQ = S::kRows, BKV = S::kStep, LD = S::kLd, LDS = BKV + 1;
  constexpr int I = BQ / 16, JK = BKV / 16, JO = HD / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  float* Qs = reinterpret_cast<float*>(smem_raw);
  float* dOs = Qs + BQ * LD;
  float* Ks = dOs + BQ * LD;
  float* Vs = Ks + BKV * LD;
  float* dSs = Vs + BKV * LD;  // [query][key]
  float* ls = dSs + BQ * LDS;
  float* Ds = ls + BQ;

  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / d.group;
  const float* base = qkv + int64_t(b) * d.T * d.C3;
  const float* Kg = base + d.Cq + int64_t(kvh) * HD;
  const float* Vg = base + d.Cq + int64_t(d.KVH + kvh) * HD;
  const int64_t stat = (int64_t(b) * d.H + h) * d.T;
  load_tile<BQ, HD, LD, kSimtThreads>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);
  load_tile<BQ, HD, LD, kSimtThreads>(dOs, dout + int64_t(b) * d.T * d.Cq + int64_t(h) * HD,
                                      d.Cq, q0, d.T, d.vec);
  load_row_stats<BQ, kSimtThreads>(ls, Ds, lse + stat, D + stat, q0, d.T);

  float dq[I][JO] = {};
  const int kv_end = min(q0 + BQ, d.T);
  for (int k0 = 0; k0 < kv_end; k0 += BKV) {
    __syncthreads();  // the previous step's reads of Ks, Vs, dSs are done
    load_tile<BKV, HD, LD, kSimtThreads>(Ks, Kg, d.C3, k0, d.T, d.vec);
    load_tile<BKV, HD, LD, kSimtThreads>(Vs, Vg, d.C3, k0, d.T, d.vec);
    __syncthreads();
    float s[I][JK] = {}, dp[I][JK] = {};
    simt_mma<I, JK, HD, LD, 1, 1, LD>(s, Qs, Ks, ty, tx);
    simt_mma<I, JK, HD, LD, 1, 1, LD>(dp, dOs, Vs, ty, tx);
#pragma unroll
    for (int i = 0; i < I; ++i) {
      const int r = ty + 16 * i, qi = q0 + r;
#pragma unroll
      for (int j = 0; j < JK; ++j) {
        const int c = tx + 16 * j, kj = k0 + c;
        const float p = (kj <= qi && qi < d.T) ? exp2f(s[i][j] * d.scale_log2 - ls[r]) : 0.f;
        dSs[r * LDS + c] = p * (dp[i][j] - Ds[r]);
      }
    }
    __syncthreads();
    simt_mma<I, JO, BKV, LDS, 1, LD, 1>(dq, dSs, Ks, ty, tx);
  }
#pragma unroll
  for (int i = 0; i < I; ++i) {
    const int qi = q0 + ty + 16 * i;
    if (qi >= d.T) continue;
    float* row = dqkv + (int64_t(b) * d.T + qi) * d.C3 + int64_t(h) * HD;
#pragma unroll
    for (int j = 0; j < JO; ++j) row[tx + 16 * j] = dq[i][j] * d.scale;
  }
}

// ---------------------------------------------------------------------------------------------
// bf16 on tensor cores. Shared tiles are bf16 with rows padded by 8 elements (16 bytes), which
// keeps each 16-row fragment load free of bank conflicts and every 16 x 16 tile start 32-byte
// aligned as wmma requires; fp32 staging tiles are padded by 4 floats.

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBt = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

constexpr int kTile = 64;  // query and key tile of every bf16 kernel

constexpr size_t align128(size_t n) { return (n + 127) / 128 * 128; }

// Forward: 4 warps, warp w owns query rows 16 w .. 16 w + 15 of the tile.
constexpr int kFwdWarps = 4;

template <int HD>
struct FwdTcLayout {
  static_assert(HD % 16 == 0 && HD >= 32 && HD <= 128, "whole 16 x 16 fragments");
  static constexpr int kLdh = HD + 8;     // bf16 [row][HD] tiles
  static constexpr int kLdp = kTile + 8;  // bf16 P tile
  static constexpr int kLdw = (HD > kTile ? HD : kTile) + 4;  // fp32 per-warp staging [16][max]
  static constexpr size_t kQ = 0;
  static constexpr size_t kK = kQ + align128(sizeof(bf16) * kTile * kLdh);
  static constexpr size_t kV = kK + align128(sizeof(bf16) * kTile * kLdh);
  static constexpr size_t kP = kV + align128(sizeof(bf16) * kTile * kLdh);
  static constexpr size_t kW = kP + align128(sizeof(bf16) * kTile * kLdp);
  static constexpr size_t kBytes = kW + sizeof(float) * kFwdWarps * 16 * kLdw;
};

template <int HD>
__global__ void __launch_bounds__(kFwdWarps * kWarp)
    forward_tc_kernel(bf16* __restrict__ out, float* __restrict__ lse,
                      const bf16* __restrict__ qkv, Dims d) {
  using L = FwdTcLayout<HD>;
  constexpr int LDH = L::kLdh, LDP = L::kLdp, LDW = L::kLdw, NT = kFwdWarps * kWarp;
  constexpr int OC = (HD + kWarp - 1) / kWarp;  // output columns per lane: lane + 32 c < HD
  constexpr int NF = HD / 16;                   // fragments across a [16][HD] tile
  constexpr int kChunk = 4;                     // P V fragments in flight (registers)
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_raw + L::kQ);
  bf16* Ks = reinterpret_cast<bf16*>(smem_raw + L::kK);
  bf16* Vs = reinterpret_cast<bf16*>(smem_raw + L::kV);
  bf16* Ps = reinterpret_cast<bf16*>(smem_raw + L::kP);

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  // whether column lane + 32 (OC - 1) exists: not for every lane when HD is an odd multiple of 16
  const bool last_col = HD % kWarp == 0 || lane < HD % kWarp;
  float* W = reinterpret_cast<float*>(smem_raw + L::kW) + warp * 16 * LDW;
  bf16* Pw = Ps + warp * 16 * LDP;
  const bf16* Qw = Qs + warp * 16 * LDH;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kTile, h = blockIdx.y, b = blockIdx.z;
  const int qw = q0 + warp * 16;  // first query row of this warp
  const int kvh = h / d.group;
  const bf16* base = qkv + int64_t(b) * d.T * d.C3;
  const bf16* Kg = base + d.Cq + int64_t(kvh) * HD;
  const bf16* Vg = base + d.Cq + int64_t(d.KVH + kvh) * HD;
  load_tile<kTile, HD, LDH, NT>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);

  // Row r of the warp: running max m[r] (same in every lane), this lane's share of the row
  // sum l[r], and output columns lane + 32 c in o[r][c].
  float o[16][OC] = {}, m[16], l[16];
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
  }
  const int kv_end = min(q0 + kTile, d.T);
  for (int k0 = 0; k0 < kv_end; k0 += kTile) {
    __syncthreads();  // the previous step's reads of Ks, Vs are done
    load_tile<kTile, HD, LDH, NT>(Ks, Kg, d.C3, k0, d.T, d.vec);
    load_tile<kTile, HD, LDH, NT>(Vs, Vg, d.C3, k0, d.T, d.vec);
    __syncthreads();
    {  // S = Q K^T for the warp's 16 rows, staged in W as fp32
      FragC s[kTile / 16];
#pragma unroll
      for (int n = 0; n < kTile / 16; ++n) wmma::fill_fragment(s[n], 0.f);
#pragma unroll
      for (int kk = 0; kk < HD / 16; ++kk) {
        FragA a;
        wmma::load_matrix_sync(a, Qw + kk * 16, LDH);
#pragma unroll
        for (int n = 0; n < kTile / 16; ++n) {
          FragBt bt;  // B(d, key) = K[key][d]: K's rows read column-major
          wmma::load_matrix_sync(bt, Ks + n * 16 * LDH + kk * 16, LDH);
          wmma::mma_sync(s[n], a, bt, s[n]);
        }
      }
#pragma unroll
      for (int n = 0; n < kTile / 16; ++n)
        wmma::store_matrix_sync(W + n * 16, s[n], LDW, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax, one row at a time, lanes across the 64 keys (columns lane, lane + 32).
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int qi = qw + r;
      float s2[2];
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int kj = k0 + lane + 32 * c;
        s2[c] = (kj <= qi && kj < d.T) ? W[r * LDW + lane + 32 * c] * d.scale_log2 : -INFINITY;
      }
      // finite: key 0 is visible to every row and the first step holds it
      const float m_new = fmaxf(m[r], warp_max(fmaxf(s2[0], s2[1])));
      const float alpha = exp2f(m[r] - m_new);  // 0 on the first step (m = -inf)
      m[r] = m_new;
      const float p0 = exp2f(s2[0] - m_new), p1 = exp2f(s2[1] - m_new);
      l[r] = l[r] * alpha + (p0 + p1);
      Pw[r * LDP + lane] = __float2bfloat16(p0);
      Pw[r * LDP + lane + 32] = __float2bfloat16(p1);
#pragma unroll
      for (int c = 0; c < OC; ++c) o[r][c] *= alpha;
    }
    __syncwarp();  // P complete, and every lane is done reading S out of W
    // O_step = P V in column chunks of up to 64 (4 fragments; fewer in the last chunk when
    // HD / 16 is not a multiple of 4), staged in W, added to o
#pragma unroll
    for (int n0 = 0; n0 < NF; n0 += kChunk) {
      FragC pv[kChunk];
#pragma unroll
      for (int n = 0; n < kChunk; ++n)
        if (n0 + n < NF) wmma::fill_fragment(pv[n], 0.f);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        FragA a;
        wmma::load_matrix_sync(a, Pw + kk * 16, LDP);
#pragma unroll
        for (int n = 0; n < kChunk; ++n) {
          if (n0 + n >= NF) continue;
          FragB bv;
          wmma::load_matrix_sync(bv, Vs + kk * 16 * LDH + (n0 + n) * 16, LDH);
          wmma::mma_sync(pv[n], a, bv, pv[n]);
        }
      }
#pragma unroll
      for (int n = 0; n < kChunk; ++n)
        if (n0 + n < NF)
          wmma::store_matrix_sync(W + (n0 + n) * 16, pv[n], LDW, wmma::mem_row_major);
    }
    __syncwarp();
#pragma unroll
    for (int r = 0; r < 16; ++r)
#pragma unroll
      for (int c = 0; c < OC; ++c)
        if (c + 1 < OC || last_col) o[r][c] += W[r * LDW + lane + 32 * c];
    // the next step's S store into W follows a __syncthreads, after these reads
  }
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const float sum = warp_sum(l[r]);
    const int qi = qw + r;
    if (qi >= d.T) continue;
    const float inv = 1.f / sum;
    bf16* orow = out + (int64_t(b) * d.T + qi) * d.Cq + int64_t(h) * HD;
#pragma unroll
    for (int c = 0; c < OC; ++c)
      if (c + 1 < OC || last_col) orow[lane + 32 * c] = __float2bfloat16(o[r][c] * inv);
    if (lane == 0) lse[(int64_t(b) * d.H + h) * d.T + qi] = (m[r] + log2f(sum)) * kLn2;
  }
}

// Backward: 8 warps as 4 row blocks x 2 column halves: warp w owns rows 16 (w % 4) .. + 15 of
// the block's own tile and, for the tile products that stream past, columns 32 (w / 4) .. + 31
// of the score tile and half h = w / 4 of the gradient tile's HD / 16 fragment columns: half 0
// the first kHalfFrags, half 1 the rest, one fewer when HD / 16 is odd (hd = 48, 80, 112: those
// warps idle for one fragment of every gradient product rather than split a fragment).
constexpr int kBwdWarps = 8;

template <int HD>
struct BwdTcLayout {
  static_assert(HD % 16 == 0 && HD >= 32 && HD <= 128, "whole 16 x 16 fragments");
  static constexpr int kFrags = HD / 16;               // fragment columns of a gradient tile
  static constexpr int kHalfFrags = (kFrags + 1) / 2;  // held by a warp of column half 0
  static constexpr int kLdh = HD + 8;     // bf16 [row][HD] tiles
  static constexpr int kLdp = kTile + 8;  // bf16 [row][kTile] tiles (P, dS)
  static constexpr int kLdf = kTile + 4;  // fp32 staging of S and dP
  static constexpr int kLdo = HD + 4;     // fp32 staging of the final gradient tile
  static constexpr size_t kA = 0;         // own tile: K (kv kernel) or Q (q kernel)
  static constexpr size_t kB = kA + align128(sizeof(bf16) * kTile * kLdh);  // V or dO
  static constexpr size_t kC = kB + align128(sizeof(bf16) * kTile * kLdh);  // streamed: Q or K
  static constexpr size_t kD = kC + align128(sizeof(bf16) * kTile * kLdh);  // streamed: dO or V
  static constexpr size_t kP = kD + align128(sizeof(bf16) * kTile * kLdh);
  static constexpr size_t kDS = kP + align128(sizeof(bf16) * kTile * kLdp);
  static constexpr size_t kS = kDS + align128(sizeof(bf16) * kTile * kLdp);  // S, then dP
  static constexpr size_t kStats = kS + align128(sizeof(float) * 2 * kTile * kLdf);
  static constexpr size_t kBytes = kStats + sizeof(float) * 2 * kTile;
  static_assert(2 * kTile * kLdf >= kTile * kLdo, "final staging reuses the S / dP area");
};

// The backward kernels' shared memory (BwdTcLayout) as pointers: the four bf16 operand tiles a-d
// (dK / dV pass: K, V, Q, dO; dQ pass: Q, dO, K, V), the bf16 P and dS tiles, the fp32 S tile
// with dP beside it (at the end the gradients' staging area), and the query rows' lse and D.
template <int HD>
struct BwdTcSmem {
  bf16 *a, *b, *c, *d, *p, *ds;
  float *s, *dp, *ls, *D;
  __device__ explicit BwdTcSmem(unsigned char* raw) {
    using L = BwdTcLayout<HD>;
    a = reinterpret_cast<bf16*>(raw + L::kA);
    b = reinterpret_cast<bf16*>(raw + L::kB);
    c = reinterpret_cast<bf16*>(raw + L::kC);
    d = reinterpret_cast<bf16*>(raw + L::kD);
    p = reinterpret_cast<bf16*>(raw + L::kP);
    ds = reinterpret_cast<bf16*>(raw + L::kDS);
    s = reinterpret_cast<float*>(raw + L::kS);
    dp = s + kTile * L::kLdf;
    ls = reinterpret_cast<float*>(raw + L::kStats);
    D = ls + kTile;
  }
};

// The gradient-tile fragments of warp `warp`: columns grad_col0 .. + 16 grad_frags.
template <int HD>
__device__ __forceinline__ int grad_frags(int warp) {
  using L = BwdTcLayout<HD>;
  return L::kFrags % 2 == 0 || warp < kBwdWarps / 2 ? L::kHalfFrags : L::kFrags - L::kHalfFrags;
}
template <int HD>
__device__ __forceinline__ int grad_col0(int warp) {
  return warp / (kBwdWarps / 2) * 16 * BwdTcLayout<HD>::kHalfFrags;
}
// Gradient accumulators of one warp: only the first grad_frags<HD>(warp) are used.
template <int HD>
using GradFrags = FragC[BwdTcLayout<HD>::kHalfFrags];

// Shared by both backward kernels: S and dP for the warp's 16 x 32 part of the score tile,
// as (own rows) x (streamed rows), staged in fp32. A is the own tile used with S, B with dP.
template <int HD>
__device__ __forceinline__ void tc_scores(float* Sw, float* dPw, const bf16* A, const bf16* B,
                                          const bf16* C, const bf16* Dt) {
  using L = BwdTcLayout<HD>;
  constexpr int LDH = L::kLdh, LDF = L::kLdf;
  FragC s[2], dp[2];
#pragma unroll
  for (int n = 0; n < 2; ++n) {
    wmma::fill_fragment(s[n], 0.f);
    wmma::fill_fragment(dp[n], 0.f);
  }
#pragma unroll
  for (int kk = 0; kk < HD / 16; ++kk) {
    FragA a, bb;
    wmma::load_matrix_sync(a, A + kk * 16, LDH);
    wmma::load_matrix_sync(bb, B + kk * 16, LDH);
#pragma unroll
    for (int n = 0; n < 2; ++n) {
      FragBt ct, dt;  // the streamed tiles' rows read column-major: C^T and D^T
      wmma::load_matrix_sync(ct, C + n * 16 * LDH + kk * 16, LDH);
      wmma::load_matrix_sync(dt, Dt + n * 16 * LDH + kk * 16, LDH);
      wmma::mma_sync(s[n], a, ct, s[n]);
      wmma::mma_sync(dp[n], bb, dt, dp[n]);
    }
  }
#pragma unroll
  for (int n = 0; n < 2; ++n) {
    wmma::store_matrix_sync(Sw + n * 16, s[n], LDF, wmma::mem_row_major);
    wmma::store_matrix_sync(dPw + n * 16, dp[n], LDF, wmma::mem_row_major);
  }
}

// acc[n] += A (16 x kTile, bf16 row-major at A) x B (the kTile x 16 nf columns at B), n < nf
template <int HD>
__device__ __forceinline__ void tc_accumulate(GradFrags<HD>& acc, int nf, const bf16* A, int lda,
                                              const bf16* B) {
  constexpr int LDH = BwdTcLayout<HD>::kLdh;
#pragma unroll
  for (int kk = 0; kk < kTile / 16; ++kk) {
    FragA a;
    wmma::load_matrix_sync(a, A + kk * 16, lda);
#pragma unroll
    for (int n = 0; n < BwdTcLayout<HD>::kHalfFrags; ++n) {
      if (n >= nf) continue;  // warp-uniform
      FragB bm;
      wmma::load_matrix_sync(bm, B + kk * 16 * LDH + n * 16, LDH);
      wmma::mma_sync(acc[n], a, bm, acc[n]);
    }
  }
}

// Writes a [kTile][HD] gradient tile held as fragments (warp w: rows 16 (w % 4), columns
// grad_col0<HD>(w)..) to rows row0.. (< T) of dst (row stride `stride`), times `mul`, through the
// fp32 staging area. Begins and ends with a block barrier.
template <int HD>
__device__ __forceinline__ void tc_store_grad(bf16* dst, int64_t stride, int row0, int T,
                                              float mul, const GradFrags<HD>& acc,
                                              float* stage) {
  constexpr int LDO = BwdTcLayout<HD>::kLdo, NT = kBwdWarps * kWarp;
  const int warp = threadIdx.x / kWarp, nf = grad_frags<HD>(warp);
  __syncthreads();  // the staging area is free
#pragma unroll
  for (int n = 0; n < BwdTcLayout<HD>::kHalfFrags; ++n)
    if (n < nf)
      wmma::store_matrix_sync(stage + (warp % 4) * 16 * LDO + grad_col0<HD>(warp) + n * 16,
                              acc[n], LDO, wmma::mem_row_major);
  __syncthreads();
  for (int idx = threadIdx.x; idx < kTile * HD; idx += NT) {
    const int r = idx / HD, c = idx % HD;
    if (row0 + r < T) dst[(row0 + r) * stride + c] = __float2bfloat16(stage[r * LDO + c] * mul);
  }
  __syncthreads();
}

template <int HD>
__global__ void __launch_bounds__(kBwdWarps * kWarp)
    backward_kv_tc_kernel(bf16* __restrict__ dqkv, const bf16* __restrict__ dout,
                          const bf16* __restrict__ qkv, const float* __restrict__ lse,
                          const float* __restrict__ D, Dims d) {
  using L = BwdTcLayout<HD>;
  constexpr int LDH = L::kLdh, LDP = L::kLdp, LDF = L::kLdf, NT = kBwdWarps * kWarp;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const BwdTcSmem<HD> sm(smem_raw);
  bf16 *const Ks = sm.a, *const Vs = sm.b, *const Qs = sm.c, *const dOs = sm.d;
  bf16 *const Pt = sm.p, *const dSt = sm.ds;    // [key][query]
  float *const St = sm.s, *const dPt = sm.dp;  // [key][query]
  float *const ls = sm.ls, *const Ds = sm.D;

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int wr = (warp % 4) * 16, wc = (warp / 4) * 32;  // score-tile rows (keys), cols (queries)
  const int k0 = blockIdx.x * kTile, kvh = blockIdx.y, b = blockIdx.z;
  const bf16* base = qkv + int64_t(b) * d.T * d.C3;
  const bf16* dObase = dout + int64_t(b) * d.T * d.Cq;
  load_tile<kTile, HD, LDH, NT>(Ks, base + d.Cq + int64_t(kvh) * HD, d.C3, k0, d.T, d.vec);
  load_tile<kTile, HD, LDH, NT>(Vs, base + d.Cq + int64_t(d.KVH + kvh) * HD, d.C3, k0, d.T,
                                d.vec);

  GradFrags<HD> dk, dv;  // keys wr .. wr + 15, columns gc + 16 n for n < nf
  const int gc = grad_col0<HD>(warp), nf = grad_frags<HD>(warp);
#pragma unroll
  for (int n = 0; n < L::kHalfFrags; ++n) {
    wmma::fill_fragment(dk[n], 0.f);
    wmma::fill_fragment(dv[n], 0.f);
  }
  for (int g = 0; g < d.group; ++g) {
    const int h = kvh * d.group + g;
    const int64_t stat = (int64_t(b) * d.H + h) * d.T;
    for (int q0 = k0; q0 < d.T; q0 += kTile) {  // query tiles before k0 see none of these keys
      __syncthreads();  // the previous step's reads of Qs, dOs, Pt, dSt are done
      load_tile<kTile, HD, LDH, NT>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);
      load_tile<kTile, HD, LDH, NT>(dOs, dObase + int64_t(h) * HD, d.Cq, q0, d.T, d.vec);
      load_row_stats<kTile, NT>(ls, Ds, lse + stat, D + stat, q0, d.T);
      __syncthreads();
      // S^T = K Q^T and dP^T = V dO^T, warp part: keys wr.., queries wc..
      tc_scores<HD>(St + wr * LDF + wc, dPt + wr * LDF + wc, Ks + wr * LDH, Vs + wr * LDH,
                    Qs + wc * LDH, dOs + wc * LDH);
      __syncwarp();
      const int c = wc + lane, qi = q0 + c;
      const float lq = ls[c], Dq = Ds[c];
#pragma unroll 4
      for (int r = wr; r < wr + 16; ++r) {
        const int kj = k0 + r;
        const float p =
            (kj <= qi && qi < d.T) ? exp2f(St[r * LDF + c] * d.scale_log2 - lq) : 0.f;
        Pt[r * LDP + c] = __float2bfloat16(p);
        dSt[r * LDP + c] = __float2bfloat16(p * (dPt[r * LDF + c] - Dq));
      }
      __syncthreads();  // a row of P^T / dS^T comes from two warps (both query halves)
      tc_accumulate<HD>(dv, nf, Pt + wr * LDP, LDP, dOs + gc);  // dV += P^T dO
      tc_accumulate<HD>(dk, nf, dSt + wr * LDP, LDP, Qs + gc);  // dK += dS^T Q
    }
  }
  bf16* dst = dqkv + int64_t(b) * d.T * d.C3 + d.Cq;
  tc_store_grad<HD>(dst + int64_t(kvh) * HD, d.C3, k0, d.T, d.scale, dk, sm.s);
  tc_store_grad<HD>(dst + int64_t(d.KVH + kvh) * HD, d.C3, k0, d.T, 1.f, dv, sm.s);
}

template <int HD>
__global__ void __launch_bounds__(kBwdWarps * kWarp)
    backward_q_tc_kernel(bf16* __restrict__ dqkv, const bf16* __restrict__ dout,
                         const bf16* __restrict__ qkv, const float* __restrict__ lse,
                         const float* __restrict__ D, Dims d) {
  using L = BwdTcLayout<HD>;
  constexpr int LDH = L::kLdh, LDP = L::kLdp, LDF = L::kLdf, NT = kBwdWarps * kWarp;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const BwdTcSmem<HD> sm(smem_raw);
  bf16 *const Qs = sm.a, *const dOs = sm.b, *const Ks = sm.c, *const Vs = sm.d;
  bf16* const dSs = sm.ds;                     // [query][key]
  float *const Sf = sm.s, *const dPf = sm.dp;  // [query][key]
  float *const ls = sm.ls, *const Ds = sm.D;

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int wr = (warp % 4) * 16, wc = (warp / 4) * 32;  // score-tile rows (queries), cols (keys)
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kTile, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / d.group;
  const bf16* base = qkv + int64_t(b) * d.T * d.C3;
  const bf16* Kg = base + d.Cq + int64_t(kvh) * HD;
  const bf16* Vg = base + d.Cq + int64_t(d.KVH + kvh) * HD;
  const int64_t stat = (int64_t(b) * d.H + h) * d.T;
  load_tile<kTile, HD, LDH, NT>(Qs, base + int64_t(h) * HD, d.C3, q0, d.T, d.vec);
  load_tile<kTile, HD, LDH, NT>(dOs, dout + int64_t(b) * d.T * d.Cq + int64_t(h) * HD, d.Cq, q0,
                                d.T, d.vec);
  load_row_stats<kTile, NT>(ls, Ds, lse + stat, D + stat, q0, d.T);

  GradFrags<HD> dq;  // queries wr .. wr + 15, columns gc + 16 n for n < nf
  const int gc = grad_col0<HD>(warp), nf = grad_frags<HD>(warp);
#pragma unroll
  for (int n = 0; n < L::kHalfFrags; ++n) wmma::fill_fragment(dq[n], 0.f);
  const int kv_end = min(q0 + kTile, d.T);
  for (int k0 = 0; k0 < kv_end; k0 += kTile) {
    __syncthreads();  // the previous step's reads of Ks, Vs, dSs are done
    load_tile<kTile, HD, LDH, NT>(Ks, Kg, d.C3, k0, d.T, d.vec);
    load_tile<kTile, HD, LDH, NT>(Vs, Vg, d.C3, k0, d.T, d.vec);
    __syncthreads();
    // S = Q K^T and dP = dO V^T, warp part: queries wr.., keys wc..
    tc_scores<HD>(Sf + wr * LDF + wc, dPf + wr * LDF + wc, Qs + wr * LDH, dOs + wr * LDH,
                  Ks + wc * LDH, Vs + wc * LDH);
    __syncwarp();
    const int c = wc + lane, kj = k0 + c;
#pragma unroll 4
    for (int r = wr; r < wr + 16; ++r) {
      const int qi = q0 + r;
      const float p = (kj <= qi && qi < d.T) ? exp2f(Sf[r * LDF + c] * d.scale_log2 - ls[r]) : 0.f;
      dSs[r * LDP + c] = __float2bfloat16(p * (dPf[r * LDF + c] - Ds[r]));
    }
    __syncthreads();  // a row of dS comes from two warps (both key halves)
    tc_accumulate<HD>(dq, nf, dSs + wr * LDP, LDP, Ks + gc);  // dQ += dS K
  }
  tc_store_grad<HD>(dqkv + int64_t(b) * d.T * d.C3 + int64_t(h) * HD, d.C3, q0, d.T, d.scale, dq,
                    sm.s);
}

// ---------------------------------------------------------------------------------------------
// host side

template <class T, int HD>
void launch_forward(T* out, float* lse, const T* qkv, int B, const Dims& d, cudaStream_t stream) {
  if constexpr (std::is_same_v<T, float>) {
    const auto kernel = forward_simt_kernel<HD>;
    const size_t smem = simt_forward_smem<HD>();
    allow_smem(kernel, smem, "attention");
    const dim3 grid(tiles(d.T, SimtTiles<HD>::kRows), d.H, B);
    kernel<<<grid, kSimtThreads, smem, stream>>>(out, lse, qkv, d);
  } else {
    const auto kernel = forward_tc_kernel<HD>;
    const size_t smem = FwdTcLayout<HD>::kBytes;
    allow_smem(kernel, smem, "attention");
    const dim3 grid(tiles(d.T, kTile), d.H, B);
    kernel<<<grid, kFwdWarps * kWarp, smem, stream>>>(out, lse, qkv, d);
  }
  CUDA_CHECK(cudaGetLastError());
}

template <class T, int HD>
void launch_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                     float* Dsum, int B, const Dims& d, cudaStream_t stream) {
  launch_rowdot(Dsum, dout, out, B, HD, d, stream);
  if constexpr (std::is_same_v<T, float>) {
    using S = SimtTiles<HD>;
    const auto kv_kernel = backward_kv_simt_kernel<HD>;
    const size_t kv_smem = simt_backward_kv_smem<HD>();
    allow_smem(kv_kernel, kv_smem, "attention");
    const dim3 kv_grid(tiles(d.T, S::kRows), d.KVH, B);
    kv_kernel<<<kv_grid, kSimtThreads, kv_smem, stream>>>(dqkv, dout, qkv, lse, Dsum, d);
    CUDA_CHECK(cudaGetLastError());
    const auto q_kernel = backward_q_simt_kernel<HD>;
    const size_t q_smem = simt_backward_q_smem<HD>();
    allow_smem(q_kernel, q_smem, "attention");
    const dim3 q_grid(tiles(d.T, S::kRows), d.H, B);
    q_kernel<<<q_grid, kSimtThreads, q_smem, stream>>>(dqkv, dout, qkv, lse, Dsum, d);
  } else {
    const size_t smem = BwdTcLayout<HD>::kBytes;
    const auto kv_kernel = backward_kv_tc_kernel<HD>;
    allow_smem(kv_kernel, smem, "attention");
    const dim3 kv_grid(tiles(d.T, kTile), d.KVH, B);
    kv_kernel<<<kv_grid, kBwdWarps * kWarp, smem, stream>>>(dqkv, dout, qkv, lse, Dsum, d);
    CUDA_CHECK(cudaGetLastError());
    const auto q_kernel = backward_q_tc_kernel<HD>;
    allow_smem(q_kernel, smem, "attention");
    const dim3 q_grid(tiles(d.T, kTile), d.H, B);
    q_kernel<<<q_grid, kBwdWarps * kWarp, smem, stream>>>(dqkv, dout, qkv, lse, Dsum, d);
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

namespace attention_launch {

template <class T>
void launch_rowdot(float* Dsum, const T* dout, const T* out, int B, int hd, const Dims& d,
                   cudaStream_t stream) {
  const int rows = B * d.T * d.H;
  constexpr int kRowsPerBlock = 8;  // warps per block
  const auto kernel = rowdot_kernel<T>;
  kernel<<<tiles(rows, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream>>>(Dsum, dout, out, rows,
                                                                           hd, d);
  CUDA_CHECK(cudaGetLastError());
}
template void launch_rowdot<float>(float*, const float*, const float*, int, int, const Dims&,
                                   cudaStream_t);
template void launch_rowdot<bf16>(float*, const bf16*, const bf16*, int, int, const Dims&,
                                  cudaStream_t);

}  // namespace attention_launch

size_t attention_backward_scratch_floats(int B, int Tn, int H) {
  return static_cast<size_t>(B) * static_cast<size_t>(Tn) * static_cast<size_t>(H);
}

template <class T>
void attention_forward(T* out, float* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd,
                       cudaStream_t stream) {
  run_forward("attention_forward", out, qkv, B, Tn, H, KVH, hd, [&](auto k, const Dims& d) {
    launch_forward<T, decltype(k)::value>(out, lse, qkv, B, d, stream);
  });
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                        int B, int Tn, int H, int KVH, int hd, cudaStream_t stream,
                        float* scratch) {
  run_backward("attention_backward", dqkv, dout, qkv, out, B, Tn, H, KVH, hd, stream, scratch,
               [&](auto k, const Dims& d, float* Dsum) {
                 launch_backward<T, decltype(k)::value>(dqkv, dout, qkv, out, lse, Dsum, B, d,
                                                        stream);
               });
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int, int,
                                       cudaStream_t);
template void attention_forward<bf16>(bf16*, float*, const bf16*, int, int, int, int, int,
                                      cudaStream_t);
template void attention_backward<float>(float*, const float*, const float*, const float*,
                                        const float*, int, int, int, int, int, cudaStream_t,
                                        float*);
template void attention_backward<bf16>(bf16*, const bf16*, const bf16*, const bf16*,
                                       const float*, int, int, int, int, int, cudaStream_t,
                                       float*);

}  // namespace merino::cuda

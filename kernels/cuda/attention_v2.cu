// Causal grouped-query attention, version 2 (bf16 tensor cores); same contract as v1
// (attention.cuh, CPU twin kernels/cpu/attention.cpp). fp32 calls go to v1's fp32 kernels.
//
// Design (after Dao, "FlashAttention-2", 2023, Algorithms 1 and 2, and its Sec. 3.3 work
// partitioning; fragment layouts from the PTX ISA, see mma.cuh; written from scratch here):
// * Every tile product is one warp's mma.m16n8k16 (bf16 in, fp32 accumulate) on operands read
//   from shared memory by ldmatrix (.trans where the operand is needed transposed). Scores S
//   and probabilities P never leave registers: the accumulator fragments of two adjacent 16x8
//   score tiles, rounded to bf16, are the A fragment of the next product (P V, P^T dO, dS^T Q,
//   dS K). Row statistics (max, sum) are reduced over the four lanes of a quad that share a row.
// * Shared tiles are row-major with rows padded by 8 elements (16 bytes): a row stride of
//   (hd + 8) * 2 bytes = 4 (2m + 1) words puts the 8 rows of each ldmatrix 8x8 matrix on 8
//   disjoint groups of 4 banks, and keeps every 16-byte chunk aligned for cp.async.
// * Tiles stream through double buffers filled by cp.async.cg (16 bytes per thread and copy):
//   tile j + 1 is in flight while tile j is used. Rows past T are stored as zeros; when a base
//   pointer is not 16-byte aligned the tile is copied element by element instead.
// * Forward: one block of 8 warps per (128-row query tile, head, batch), warp w owning query rows
//   16 w .. 16 w + 15 with its Q fragments in registers; 64-row K/V tiles up to the diagonal
//   (causal tile skipping; a warp whose rows all precede a tile skips its products); online
//   softmax in exp2 with a lane-partial row sum, reduced once at the end. Query tiles launch
//   last-first, as they see the most keys.
// * Backward, deterministic (no atomics): (1) D = rowsum(dO * O); (2) KV-outer: one block of 4
//   warps per (64-row kv tile, kv head, batch), warp w owning kv rows 16 w .., accumulating dK
//   and dV in registers over the group's query heads in order and, per head, over the query
//   tiles from the diagonal on; it computes S^T = K Q^T and dP^T = V dO^T directly, so P^T and
//   dS^T are already A fragments; (3) dQ in its own pass: one block of 4 warps per (64-row
//   query tile, head, batch) over the kv tiles up to the diagonal, recomputing S, P, dP and dS
//   (FlashAttention-2 adds dQ with atomics instead; the repeat buys bitwise reproducibility).
//   Query tiles in (2) are 64 rows for hd <= 64 and 32 above, so that S^T, dP^T (16 or 32
//   registers each) and dK, dV (hd / 2 each) stay within 255 registers without spilling.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/attention_launch.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/vec.cuh"

namespace merino::cuda {
namespace {

using bf16 = __nv_bfloat16;
using namespace mma;
using namespace attention_launch;

constexpr int kWarp = 32;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kPad = 8;  // elements of padding per shared row

// Rows [row0, row0 + R) of a row-major [T][HD] view (row stride `stride`) into shared memory
// with row stride HD + kPad; rows >= T become zeros. Asynchronous when d.vec.
template <int R, int HD, int NT>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, int64_t stride, int row0,
                                          int T, bool vec) {
  constexpr int kChunks = HD / 8, kLd = HD + kPad;
  for (int idx = threadIdx.x; idx < R * kChunks; idx += NT) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8, row = row0 + r;
    bf16* to = dst + r * kLd + c;
    if (row >= T) {
      *reinterpret_cast<uint4*>(to) = make_uint4(0u, 0u, 0u, 0u);
    } else if (vec) {
      cp_async_16(to, src + row * stride + c);
    } else {
      const bf16* from = src + row * stride + c;
      for (int k = 0; k < 8; ++k) to[k] = from[k];
    }
  }
}

// One step of the K/V double buffer that the forward and dQ kernels stream (R rows a tile):
// starts copying tile j + 1, if there is one, into the buffers tile j does not use, then waits
// until tile j has landed for the whole block.
template <int R, int HD, int NT>
__device__ __forceinline__ void next_kv_tile(bf16* k, bf16* v, const bf16* ksrc, const bf16* vsrc,
                                             int j, int n_tiles, const Dims& d) {
  if (j + 1 < n_tiles) {
    const int nb = ((j & 1) ^ 1) * R * (HD + kPad);
    load_tile<R, HD, NT>(k + nb, ksrc, d.C3, (j + 1) * R, d.T, d.vec);
    load_tile<R, HD, NT>(v + nb, vsrc, d.C3, (j + 1) * R, d.T, d.vec);
  }
  cp_async_commit();
  cp_async_wait<1>();
  __syncthreads();
}

// acc (16 x N, N / 8 accumulator tiles) += A (16 x K) B, with A's fragments `a` per 16-wide k
// step and B stored as rows n, columns k (B^T row-major, like K for Q K^T) at `bt`.
template <int N, int K>
__device__ __forceinline__ void mma_b_nk(float (&acc)[N / 8][4], const uint32_t (&a)[K / 16][4],
                                         const bf16* bt, int ld, int lane) {
  const int mat = lane / 8;  // ldmatrix matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, ...)
  const bf16* row = bt + (lane % 8 + (mat / 2) * 8) * ld + (mat % 2) * 8;
#pragma unroll
  for (int ks = 0; ks < K / 16; ++ks) {
#pragma unroll
    for (int np = 0; np < N / 16; ++np) {
      uint32_t r[4];
      ldmatrix_x4(r, row + np * 16 * ld + ks * 16);
      mma_m16n8k16_bf16(acc[2 * np], a[ks], r);
      mma_m16n8k16_bf16(acc[2 * np + 1], a[ks], r + 2);
    }
  }
}

// acc (16 x N) += A (16 x K) B with B stored as rows k, columns n (row-major, like V for P V),
// read transposed by ldmatrix.trans.
template <int N, int K>
__device__ __forceinline__ void mma_b_kn(float (&acc)[N / 8][4], const uint32_t (&a)[K / 16][4],
                                         const bf16* b, int ld, int lane) {
  const int mat = lane / 8;  // matrices: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), ...
  const bf16* row = b + (lane % 8 + (mat % 2) * 8) * ld + (mat / 2) * 8;
#pragma unroll
  for (int ks = 0; ks < K / 16; ++ks) {
#pragma unroll
    for (int np = 0; np < N / 16; ++np) {
      uint32_t r[4];
      ldmatrix_x4_trans(r, row + ks * 16 * ld + np * 16);
      mma_m16n8k16_bf16(acc[2 * np], a[ks], r);
      mma_m16n8k16_bf16(acc[2 * np + 1], a[ks], r + 2);
    }
  }
}

// A fragments of the 16 x K row-major tile at `a` (ld elements per row).
template <int K>
__device__ __forceinline__ void load_a(uint32_t (&frag)[K / 16][4], const bf16* a, int ld,
                                       int lane) {
  // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
  const bf16* row = a + (lane % 8 + ((lane / 8) % 2) * 8) * ld + (lane / 16) * 8;
#pragma unroll
  for (int ks = 0; ks < K / 16; ++ks) ldmatrix_x4(frag[ks], row + ks * 16);
}

// The accumulator of a 16 x K product, rounded to bf16, as A fragments for the next product.
template <int K>
__device__ __forceinline__ void acc_to_a(uint32_t (&frag)[K / 16][4],
                                         const float (&acc)[K / 8][4]) {
#pragma unroll
  for (int ks = 0; ks < K / 16; ++ks) {
    frag[ks][0] = pack_bf16(acc[2 * ks][0], acc[2 * ks][1]);
    frag[ks][1] = pack_bf16(acc[2 * ks][2], acc[2 * ks][3]);
    frag[ks][2] = pack_bf16(acc[2 * ks + 1][0], acc[2 * ks + 1][1]);
    frag[ks][3] = pack_bf16(acc[2 * ks + 1][2], acc[2 * ks + 1][3]);
  }
}

template <int N>
__device__ __forceinline__ void zero(float (&acc)[N][4]) {
#pragma unroll
  for (int n = 0; n < N; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
}

// Writes a warp's 16 x HD accumulator times `mul` to rows row0 + g and row0 + g + 8 (those < T)
// of a row-major destination, columns 8 n + 2 t, + 1 from each lane.
template <int HD>
__device__ __forceinline__ void store_rows(bf16* dst, int64_t stride, int row0, int T, float mul0,
                                           float mul1, const float (&acc)[HD / 8][4], bool vec,
                                           int lane) {
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = row0 + g + 8 * half;
    if (row >= T) continue;
    const float mul = half ? mul1 : mul0;
    bf16* p = dst + row * stride + 2 * t;
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      const __nv_bfloat162 v =
          __floats2bfloat162_rn(acc[n][2 * half] * mul, acc[n][2 * half + 1] * mul);
      if (vec) {
        *reinterpret_cast<__nv_bfloat162*>(p + 8 * n) = v;
      } else {
        p[8 * n] = v.x;
        p[8 * n + 1] = v.y;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward

constexpr int kFwdWarps = 8;
constexpr int kFwdRows = kFwdWarps * 16;  // query rows per block
constexpr int kFwdKv = 64;                // kv rows per streamed tile

template <int HD>
struct FwdLayout {
  static constexpr int kLd = HD + kPad;
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + kFwdRows * kLd;   // two buffers
  static constexpr int kV = kK + 2 * kFwdKv * kLd;  // two buffers
  static constexpr size_t kBytes = size_t(kV + 2 * kFwdKv * kLd) * sizeof(bf16);
};

template <int HD>
__global__ void __launch_bounds__(kFwdWarps* kWarp)
    forward_v2_kernel(bf16* __restrict__ out, float* __restrict__ lse,
                      const bf16* __restrict__ qkv, Dims d) {
  using L = FwdLayout<HD>;
  constexpr int kLd = L::kLd, kNT = kFwdWarps * kWarp;
  extern __shared__ uint4 smem_raw[];
  bf16* sm = reinterpret_cast<bf16*>(smem_raw);
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kFwdRows, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / d.group;
  const bf16* rows = qkv + int64_t(b) * d.T * d.C3;
  const bf16* qsrc = rows + h * HD;
  const bf16* ksrc = rows + d.Cq + kvh * HD;
  const bf16* vsrc = rows + d.Cq + int64_t(d.KVH + kvh) * HD;
  const int n_tiles = min(q0 + kFwdRows, d.T) / kFwdKv + (min(q0 + kFwdRows, d.T) % kFwdKv != 0);

  load_tile<kFwdRows, HD, kNT>(sm + L::kQ, qsrc, d.C3, q0, d.T, d.vec);
  load_tile<kFwdKv, HD, kNT>(sm + L::kK, ksrc, d.C3, 0, d.T, d.vec);
  load_tile<kFwdKv, HD, kNT>(sm + L::kV, vsrc, d.C3, 0, d.T, d.vec);
  cp_async_commit();

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, g = lane / 4, t = lane % 4;
  const int row0 = q0 + warp * 16;  // the warp's first query row; the lane's are row0 + g (+ 8)
  uint32_t qf[HD / 16][4];
  float o[HD / 8][4];
  zero(o);
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // m in scaled log2 units

  for (int j = 0; j < n_tiles; ++j) {
    const int buf = j & 1;
    next_kv_tile<kFwdKv, HD, kNT>(sm + L::kK, sm + L::kV, ksrc, vsrc, j, n_tiles, d);
    if (j == 0) load_a<HD>(qf, sm + L::kQ + warp * 16 * kLd, kLd, lane);
    const int kv0 = j * kFwdKv;
    if (kv0 <= row0 + 15) {  // warp-uniform: some row of the warp sees this tile
      float s[kFwdKv / 8][4];
      zero(s);
      mma_b_nk<kFwdKv, HD>(s, qf, sm + L::kK + buf * kFwdKv * kLd, kLd, lane);
      const bool diagonal = kv0 + kFwdKv - 1 > row0;
#pragma unroll
      for (int n = 0; n < kFwdKv / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int col = kv0 + 8 * n + 2 * t + (i % 2), row = row0 + g + 8 * (i / 2);
          s[n][i] = (diagonal && col > row) ? -INFINITY : s[n][i] * d.scale_log2;
        }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float mx = -INFINITY;
#pragma unroll
        for (int n = 0; n < kFwdKv / 8; ++n)
          mx = fmaxf(mx, fmaxf(s[n][2 * half], s[n][2 * half + 1]));
        // The first tile has column 0 unmasked for every row, so m is finite from then on.
        const float m_new = fmaxf(m[half], vec::warp_max<4>(mx));
        const float alpha = exp2f(m[half] - m_new);
        m[half] = m_new;
        float sum = 0.f;
#pragma unroll
        for (int n = 0; n < kFwdKv / 8; ++n) {
          s[n][2 * half] = exp2f(s[n][2 * half] - m_new);
          s[n][2 * half + 1] = exp2f(s[n][2 * half + 1] - m_new);
          sum += s[n][2 * half] + s[n][2 * half + 1];
        }
        l[half] = l[half] * alpha + sum;
#pragma unroll
        for (int n = 0; n < HD / 8; ++n) {
          o[n][2 * half] *= alpha;
          o[n][2 * half + 1] *= alpha;
        }
      }
      uint32_t pf[kFwdKv / 16][4];
      acc_to_a<kFwdKv>(pf, s);
      mma_b_kn<HD, kFwdKv>(o, pf, sm + L::kV + buf * kFwdKv * kLd, kLd, lane);
    }
    __syncthreads();  // the next iteration refills the other buffer of this one
  }

  const int64_t bh = int64_t(b) * d.H + h;
  float inv[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float sum = vec::warp_sum<4>(l[half]);
    inv[half] = 1.f / sum;
    const int row = row0 + g + 8 * half;
    if (t == 0 && row < d.T) lse[bh * d.T + row] = m[half] * kLn2 + logf(sum);
  }
  store_rows<HD>(out + int64_t(b) * d.T * d.Cq + h * HD, d.Cq, row0, d.T, inv[0], inv[1], o,
                 d.vec, lane);
}

// ---------------------------------------------------------------------------------------------
// Backward (1), D = rowsum(dO * O), is v1's kernel (attention_launch.cuh: launch_rowdot).

// lse (times log2 e) and D of rows [row0, row0 + R) into shared memory; rows >= T get zeros
// (they are masked anyway).
template <int R>
__device__ __forceinline__ void load_stats(float* ls, float* ds, const float* lse, const float* D,
                                           int row0, int T) {
  for (int r = threadIdx.x; r < R; r += blockDim.x) {
    const bool in = row0 + r < T;
    ls[r] = in ? lse[row0 + r] * kLog2e : 0.f;
    ds[r] = in ? D[row0 + r] : 0.f;
  }
}

// ---------------------------------------------------------------------------------------------
// Backward (2): dK, dV.

constexpr int kBwdWarps = 4;
constexpr int kBwdKv = kBwdWarps * 16;  // kv rows per block (dK / dV) and per tile (dQ)

template <int HD>
struct BwdKvLayout {
  static constexpr int kQRows = HD <= 64 ? 64 : 32;  // query rows per streamed tile
  static constexpr int kLd = HD + kPad;
  static constexpr int kK = 0;
  static constexpr int kV = kK + kBwdKv * kLd;
  static constexpr int kQ = kV + kBwdKv * kLd;       // two buffers
  static constexpr int kDo = kQ + 2 * kQRows * kLd;  // two buffers
  static constexpr int kEnd = kDo + 2 * kQRows * kLd;
  // then fp32 lse and D, two buffers each
  static constexpr size_t kBytes = size_t(kEnd) * sizeof(bf16) + 4 * kQRows * sizeof(float);
};

template <int HD>
__global__ void __launch_bounds__(kBwdWarps* kWarp)
    backward_kv_v2_kernel(bf16* __restrict__ dqkv, const bf16* __restrict__ dout,
                          const bf16* __restrict__ qkv, const float* __restrict__ lse,
                          const float* __restrict__ Dsum, Dims d) {
  using L = BwdKvLayout<HD>;
  constexpr int kLd = L::kLd, kQR = L::kQRows, kNT = kBwdWarps * kWarp;
  extern __shared__ uint4 smem_raw[];
  bf16* sm = reinterpret_cast<bf16*>(smem_raw);
  float* stats = reinterpret_cast<float*>(sm + L::kEnd);  // [buf][lse | D][kQR]
  const int kv0 = blockIdx.x * kBwdKv, kvh = blockIdx.y, b = blockIdx.z;
  const int64_t brow = int64_t(b) * d.T;
  const bf16* rows = qkv + brow * d.C3;
  const bf16* dorows = dout + brow * d.Cq;

  load_tile<kBwdKv, HD, kNT>(sm + L::kK, rows + d.Cq + kvh * HD, d.C3, kv0, d.T, d.vec);
  load_tile<kBwdKv, HD, kNT>(sm + L::kV, rows + d.Cq + int64_t(d.KVH + kvh) * HD, d.C3, kv0,
                             d.T, d.vec);
  // (head, query tile) pairs in a fixed order: the group's heads in turn, each from the tile
  // holding the diagonal to the end.
  const int first = kv0 / kQR, per_head = (d.T + kQR - 1) / kQR - first;
  const int steps = d.group * per_head;
  auto load_step = [&](int step, int buf) {
    const int h = kvh * d.group + step / per_head, q0 = (first + step % per_head) * kQR;
    load_tile<kQR, HD, kNT>(sm + L::kQ + buf * kQR * kLd, rows + h * HD, d.C3, q0, d.T, d.vec);
    load_tile<kQR, HD, kNT>(sm + L::kDo + buf * kQR * kLd, dorows + h * HD, d.Cq, q0, d.T,
                            d.vec);
    const int64_t stat = (int64_t(b) * d.H + h) * d.T;
    load_stats<kQR>(stats + buf * 2 * kQR, stats + buf * 2 * kQR + kQR, lse + stat, Dsum + stat,
                    q0, d.T);
  };
  load_step(0, 0);
  cp_async_commit();

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, g = lane / 4, t = lane % 4;
  const int r0 = kv0 + warp * 16;  // the warp's first kv row
  float dk[HD / 8][4], dv[HD / 8][4];
  zero(dk);
  zero(dv);

  for (int step = 0; step < steps; ++step) {
    const int buf = step & 1;
    if (step + 1 < steps) load_step(step + 1, buf ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const int q0 = (first + step % per_head) * kQR;
    if (q0 + kQR - 1 >= r0) {  // warp-uniform: some query of the tile sees some kv row
      const bf16* qs = sm + L::kQ + buf * kQR * kLd;
      const bf16* dos = sm + L::kDo + buf * kQR * kLd;
      const float* ls = stats + buf * 2 * kQR;
      const float* ds = ls + kQR;
      uint32_t af[HD / 16][4];
      float st[kQR / 8][4];  // S^T: rows = the warp's kv rows, columns = the tile's queries
      zero(st);
      load_a<HD>(af, sm + L::kK + warp * 16 * kLd, kLd, lane);
      mma_b_nk<kQR, HD>(st, af, qs, kLd, lane);
#pragma unroll
      for (int n = 0; n < kQR / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int c = 8 * n + 2 * t + (i % 2), q = q0 + c, kv = r0 + g + 8 * (i / 2);
          st[n][i] = (q >= kv && q < d.T) ? exp2f(st[n][i] * d.scale_log2 - ls[c]) : 0.f;
        }
      uint32_t pf[kQR / 16][4];
      acc_to_a<kQR>(pf, st);
      mma_b_kn<HD, kQR>(dv, pf, dos, kLd, lane);  // dV += P^T dO
      float dpt[kQR / 8][4];  // dP^T = V dO^T
      zero(dpt);
      load_a<HD>(af, sm + L::kV + warp * 16 * kLd, kLd, lane);
      mma_b_nk<kQR, HD>(dpt, af, dos, kLd, lane);
#pragma unroll
      for (int n = 0; n < kQR / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i)
          dpt[n][i] = st[n][i] * (dpt[n][i] - ds[8 * n + 2 * t + (i % 2)]);
      acc_to_a<kQR>(pf, dpt);
      mma_b_kn<HD, kQR>(dk, pf, qs, kLd, lane);  // dK += dS^T Q (times scale at the end)
    }
    __syncthreads();
  }
  bf16* dst = dqkv + brow * d.C3 + d.Cq;
  store_rows<HD>(dst + kvh * HD, d.C3, r0, d.T, d.scale, d.scale, dk, d.vec, lane);
  store_rows<HD>(dst + int64_t(d.KVH + kvh) * HD, d.C3, r0, d.T, 1.f, 1.f, dv, d.vec, lane);
}

// ---------------------------------------------------------------------------------------------
// Backward (3): dQ.

template <int HD>
struct BwdQLayout {
  static constexpr int kLd = HD + kPad;
  static constexpr int kQ = 0;
  static constexpr int kDo = kQ + kBwdKv * kLd;
  static constexpr int kK = kDo + kBwdKv * kLd;     // two buffers
  static constexpr int kV = kK + 2 * kBwdKv * kLd;  // two buffers
  static constexpr size_t kBytes = size_t(kV + 2 * kBwdKv * kLd) * sizeof(bf16);
};

template <int HD>
__global__ void __launch_bounds__(kBwdWarps* kWarp)
    backward_q_v2_kernel(bf16* __restrict__ dqkv, const bf16* __restrict__ dout,
                         const bf16* __restrict__ qkv, const float* __restrict__ lse,
                         const float* __restrict__ Dsum, Dims d) {
  using L = BwdQLayout<HD>;
  constexpr int kLd = L::kLd, kNT = kBwdWarps * kWarp, kRows = kBwdKv;
  extern __shared__ uint4 smem_raw[];
  bf16* sm = reinterpret_cast<bf16*>(smem_raw);
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kRows, h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / d.group;
  const int64_t brow = int64_t(b) * d.T;
  const bf16* rows = qkv + brow * d.C3;
  const bf16* ksrc = rows + d.Cq + kvh * HD;
  const bf16* vsrc = rows + d.Cq + int64_t(d.KVH + kvh) * HD;
  const int n_tiles = (min(q0 + kRows, d.T) + kBwdKv - 1) / kBwdKv;

  load_tile<kRows, HD, kNT>(sm + L::kQ, rows + h * HD, d.C3, q0, d.T, d.vec);
  load_tile<kRows, HD, kNT>(sm + L::kDo, dout + brow * d.Cq + h * HD, d.Cq, q0, d.T, d.vec);
  load_tile<kBwdKv, HD, kNT>(sm + L::kK, ksrc, d.C3, 0, d.T, d.vec);
  load_tile<kBwdKv, HD, kNT>(sm + L::kV, vsrc, d.C3, 0, d.T, d.vec);
  cp_async_commit();

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, g = lane / 4, t = lane % 4;
  const int row0 = q0 + warp * 16;
  const int64_t stat = (int64_t(b) * d.H + h) * d.T;
  float ls[2], ds[2];  // the lane's rows' lse (times log2 e) and D
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = row0 + g + 8 * half;
    ls[half] = row < d.T ? lse[stat + row] * kLog2e : 0.f;
    ds[half] = row < d.T ? Dsum[stat + row] : 0.f;
  }
  float dq[HD / 8][4];
  zero(dq);

  for (int j = 0; j < n_tiles; ++j) {
    const int buf = j & 1;
    next_kv_tile<kBwdKv, HD, kNT>(sm + L::kK, sm + L::kV, ksrc, vsrc, j, n_tiles, d);
    const int kv0 = j * kBwdKv;
    if (kv0 <= row0 + 15) {
      const bf16* ks = sm + L::kK + buf * kBwdKv * kLd;
      const bf16* vs = sm + L::kV + buf * kBwdKv * kLd;
      uint32_t af[HD / 16][4];
      float s[kBwdKv / 8][4], dp[kBwdKv / 8][4];
      zero(s);
      zero(dp);
      load_a<HD>(af, sm + L::kQ + warp * 16 * kLd, kLd, lane);
      mma_b_nk<kBwdKv, HD>(s, af, ks, kLd, lane);
      load_a<HD>(af, sm + L::kDo + warp * 16 * kLd, kLd, lane);
      mma_b_nk<kBwdKv, HD>(dp, af, vs, kLd, lane);
#pragma unroll
      for (int n = 0; n < kBwdKv / 8; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int half = i / 2, col = kv0 + 8 * n + 2 * t + (i % 2), row = row0 + g + 8 * half;
          const float p = col <= row ? exp2f(s[n][i] * d.scale_log2 - ls[half]) : 0.f;
          s[n][i] = p * (dp[n][i] - ds[half]);  // dS
        }
      uint32_t sf[kBwdKv / 16][4];
      acc_to_a<kBwdKv>(sf, s);
      mma_b_kn<HD, kBwdKv>(dq, sf, ks, kLd, lane);  // dQ += dS K (times scale at the end)
    }
    __syncthreads();
  }
  store_rows<HD>(dqkv + brow * d.C3 + h * HD, d.C3, row0, d.T, d.scale, d.scale, dq, d.vec, lane);
}

// ---------------------------------------------------------------------------------------------
// Host side

template <int HD>
void launch_forward(bf16* out, float* lse, const bf16* qkv, int B, const Dims& d,
                    cudaStream_t stream) {
  const auto kernel = forward_v2_kernel<HD>;
  allow_smem(kernel, FwdLayout<HD>::kBytes, "attention v2");
  const dim3 grid(tiles(d.T, kFwdRows), d.H, B);
  kernel<<<grid, kFwdWarps * kWarp, FwdLayout<HD>::kBytes, stream>>>(out, lse, qkv, d);
  CUDA_CHECK(cudaGetLastError());
}

template <int HD>
void launch_backward(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                     const float* lse, float* Dsum, int B, const Dims& d, cudaStream_t stream) {
  launch_rowdot(Dsum, dout, out, B, HD, d, stream);
  const auto kv_kernel = backward_kv_v2_kernel<HD>;
  allow_smem(kv_kernel, BwdKvLayout<HD>::kBytes, "attention v2");
  kv_kernel<<<dim3(tiles(d.T, kBwdKv), d.KVH, B), kBwdWarps * kWarp, BwdKvLayout<HD>::kBytes,
              stream>>>(dqkv, dout, qkv, lse, Dsum, d);
  CUDA_CHECK(cudaGetLastError());
  const auto q_kernel = backward_q_v2_kernel<HD>;
  allow_smem(q_kernel, BwdQLayout<HD>::kBytes, "attention v2");
  q_kernel<<<dim3(tiles(d.T, kBwdKv), d.H, B), kBwdWarps * kWarp, BwdQLayout<HD>::kBytes,
             stream>>>(dqkv, dout, qkv, lse, Dsum, d);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class T>
void attention_forward_v2(T* out, float* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd,
                          cudaStream_t stream) {
  if constexpr (std::is_same_v<T, float>) {
    attention_forward(out, lse, qkv, B, Tn, H, KVH, hd, stream);  // fp32 stays on v1
  } else {
    run_forward("attention_forward_v2", out, qkv, B, Tn, H, KVH, hd, [&](auto k, const Dims& d) {
      launch_forward<decltype(k)::value>(out, lse, qkv, B, d, stream);
    });
  }
}

template <class T>
void attention_backward_v2(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                           int B, int Tn, int H, int KVH, int hd, cudaStream_t stream,
                           float* scratch) {
  if constexpr (std::is_same_v<T, float>) {
    attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd, stream, scratch);
  } else {
    run_backward("attention_backward_v2", dqkv, dout, qkv, out, B, Tn, H, KVH, hd, stream,
                 scratch, [&](auto k, const Dims& d, float* Dsum) {
                   launch_backward<decltype(k)::value>(dqkv, dout, qkv, out, lse, Dsum, B, d,
                                                       stream);
                 });
  }
}

template void attention_forward_v2<float>(float*, float*, const float*, int, int, int, int, int,
                                          cudaStream_t);
template void attention_forward_v2<bf16>(bf16*, float*, const bf16*, int, int, int, int, int,
                                         cudaStream_t);
template void attention_backward_v2<float>(float*, const float*, const float*, const float*,
                                           const float*, int, int, int, int, int, cudaStream_t,
                                           float*);
template void attention_backward_v2<bf16>(bf16*, const bf16*, const bf16*, const bf16*,
                                          const float*, int, int, int, int, int, cudaStream_t,
                                          float*);

}  // namespace merino::cuda

// LayerNorm / RMSNorm on CUDA, fp32 arithmetic on float or bf16 tensors; CPU twin:
// kernels/cpu/norms.cpp.
//
// Design (after the approach of llm.c's layernorm kernels, rewritten for this project):
// * Forward: one warp per row. The warp reads the row with 128-bit loads (4 floats or 8 bf16,
//   vec.cuh) when C is a multiple of that pack and every tensor pointer is 16-byte aligned
//   (scalar loads otherwise), reduces with butterfly warp shuffles (every lane ends with the
//   same bits, no shared memory, no __syncthreads), and writes out plus the row statistics
//   (mean, rstd) that backward reuses. Statistics are two-pass (mean, then sum of squared
//   deviations): the 2nd and 3rd reads of a row hit L1/L2, and two-pass is as stable as the
//   CPU twin. LayerNorm and RMSNorm share one template (RMSNorm = LayerNorm with mean 0 and no
//   bias).
// * Residual add fused into forward (residual_layernorm_forward / residual_rmsnorm_forward):
//   in a pre-norm block every norm after the first reads the residual stream right after a
//   residual add wrote it. Separately that is residual_forward (read a, b; write sum) and then a
//   norm that reads sum again from DRAM; fused, the norm's first pass makes the row itself
//   (s = a + b in fp32, rounded to T and stored) and its later passes re-read it from L1/L2:
//   four tensor-sized DRAM transfers (read a, b; write sum, out) instead of five, and one
//   launch instead of two, per norm. The row is normalised as stored (rounded), in the same
//   fp32 operations and order as the two kernels, so the results are bitwise those of
//   residual_forward followed by the norm -- what the CPU twin computes and what backward
//   (which reads sum) assumes. sum may alias a or b (the model adds in place).
// * Backward is fused: one kernel computes dinp AND the per-block partial sums of dweight and
//   dbias; a second small kernel reduces the partials. A block owns a fixed run of
//   kBwdRowsPerBlock rows and walks it kBwdWarps rows at a time: each warp computes dinp for
//   one row (two warp reductions: mean(dnorm), mean(dnorm * norm)), then after __syncthreads
//   the whole block switches to column ownership -- thread t owns columns (16-byte packs of
//   columns on the 128-bit path) t, t + blockDim, ... -- and adds those rows' dout * norm and
//   dout into a shared-memory accumulator (the row data was just read, so these loads hit L1).
//   Each accumulator element has exactly one writer and a fixed order, and the reduction kernel
//   sums the partials in a fixed order too: no float atomics, so results are bitwise
//   reproducible run to run. The reduction of the N / 16 partial rows is split: with more than
//   64 of them, blocks (32 columns, kind, slice) sum fixed slices of at most 64 rows into a
//   [kinds, slices, C] stage after the partials, and the same kernel then adds the slices in
//   order into dweight / dbias. At GPT-2's N = 8192, C = 768 that is 8 slices: 384 blocks instead
//   of the 48 a single pass over 2 C / 32 columns gets (NormReduce::kSinglePass, kept for the
//   benchmark). The row partition depends only on N (not on the GPU's SM count),
//   so they are reproducible across GPUs as well. The accumulator takes 2 C floats (LayerNorm)
//   or C (RMSNorm) of shared memory; above 48 KiB the launcher opts in, which allows C up to
//   ~20k (LayerNorm) on an A100 and ~29k on an H100; a larger C throws.
// * Why += in backward: the norm sits on a residual branch, so its input gradient is added to the
//   residual-stream gradient already in dinp; dweight / dbias accumulate over micro-batches and
//   shared layers. Forward overwrites (=) its outputs.
// * Mixed precision (T = bf16): activations, weights and dinp are bf16 in memory, widened to fp32
//   on load; mean / rstd, the shared-memory accumulators, the partials and dweight / dbias are
//   fp32, so the parameter gradients are never rounded to bf16. Each stored bf16 (out, and dinp
//   after its +=) is rounded once, to nearest even.
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/norms.cuh"
#include "kernels/cuda/vec.cuh"

#include <algorithm>
#include <cstdint>
#include <string>

namespace merino::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kFwdWarps = 8;          // rows (warps) per forward block: 256 threads
constexpr int kBwdWarps = 4;          // warps per backward block: 128 threads
constexpr int kBwdRowsPerBlock = 16;  // rows per backward block; fixes the partial-sum partition
constexpr int kSumRows = 32;          // threadIdx.y extent of the partial-sum reduction kernel
constexpr int kRowsPerSlice = 64;     // partial rows per slice of the split reduction
constexpr int kMaxSlices = 16;
constexpr size_t kDefaultSmem = 48 * 1024;

// P consecutive fp32 shared-memory accumulators (16-byte aligned) as float4 accesses
template <int P>
__device__ __forceinline__ void smem_load(float (&f)[P], const float* p) {
  static_assert(P % 4 == 0, "a pack is whole float4s");
#pragma unroll
  for (int q = 0; q < P / 4; ++q) {
    const float4 v = reinterpret_cast<const float4*>(p)[q];
    f[4 * q] = v.x, f[4 * q + 1] = v.y, f[4 * q + 2] = v.z, f[4 * q + 3] = v.w;
  }
}
template <int P>
__device__ __forceinline__ void smem_store(float* p, const float (&f)[P]) {
#pragma unroll
  for (int q = 0; q < P / 4; ++q) {
    reinterpret_cast<float4*>(p)[q] =
        make_float4(f[4 * q], f[4 * q + 1], f[4 * q + 2], f[4 * q + 3]);
  }
}

// Elements [j, j + V) of a row into v. MAKE (RES, on the row's first pass) makes them first:
// sum = a + b in fp32 (residual_forward's arithmetic), stored rounded to T, and v holds the
// stored values -- so the statistics, out and backward all see exactly what residual_forward
// would have written. a and b are read before sum is written, which keeps sum == a or b safe.
template <class T, int V, bool MAKE>
__device__ __forceinline__ void row_load(float (&v)[V], const T* x, T* sum, const T* a,
                                         const T* b, int j) {
  if constexpr (MAKE) {
    float w[V];
    vec::load<T, V>(a + j, v);
    vec::load<T, V>(b + j, w);
#pragma unroll
    for (int k = 0; k < V; ++k) v[k] += w[k];
    vec::store<T, V>(sum + j, v);
#pragma unroll
    for (int k = 0; k < V; ++k) v[k] = vec::to_float(vec::from_float<T>(v[k]));
  } else {
    vec::load<T, V>(x + j, v);
  }
}

// RMS = true: RMSNorm (mean taken as 0, no bias, no mean output). RES = true: the row normalised
// is sum = a + b, made by the row's first pass (the mean pass of LayerNorm, the sum-of-squares
// pass of RMSNorm) and re-read by the later ones; inp is then unused. packed: 16-byte packs of P
// elements (C % P == 0, every T pointer 16-byte aligned), else one element at a time.
// sum, a and b are not __restrict__: sum may alias a or b, and the later passes read sum after
// this kernel wrote it, so those loads must not go through the read-only path. No
// synchronisation is needed: every pass gives lane l the same packs (or elements) l, l + 32,
// ..., so each lane only re-reads what it wrote itself, and a thread sees its own stores.
template <class T, bool RMS, bool RES>
__global__ void norm_forward_kernel(T* __restrict__ out, float* __restrict__ mean_out,
                                    float* __restrict__ rstd_out, const T* __restrict__ inp,
                                    T* sum, const T* a, const T* b, const T* __restrict__ weight,
                                    const T* __restrict__ bias, int N, int C, float eps,
                                    bool packed) {
  constexpr int P = vec::kPack<T>;
  constexpr bool kMakeInMeanPass = RES && !RMS;
  constexpr bool kMakeInSquarePass = RES && RMS;
  const int lane = threadIdx.x % kWarp;
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= N) return;  // whole warps leave together: the shuffles below stay full-warp
  const size_t off = static_cast<size_t>(row) * C;
  T* const s = RES ? sum + off : nullptr;
  const T* const ra = RES ? a + off : nullptr;
  const T* const rb = RES ? b + off : nullptr;
  const T* x = RES ? s : inp + off;
  T* y = out + off;
  const int CP = C / P;

  float m = 0.f;
  if (!RMS) {
    float acc = 0.f;
    if (packed) {
      for (int i = lane; i < CP; i += kWarp) {
        float v[P];
        row_load<T, P, kMakeInMeanPass>(v, x, s, ra, rb, i * P);
        acc += vec::tree_sum(v);
      }
    } else {
      for (int i = lane; i < C; i += kWarp) {
        float v[1];
        row_load<T, 1, kMakeInMeanPass>(v, x, s, ra, rb, i);
        acc += v[0];
      }
    }
    m = vec::warp_sum(acc) / C;
  }
  float ss = 0.f;
  if (packed) {
    for (int i = lane; i < CP; i += kWarp) {
      float v[P];
      row_load<T, P, kMakeInSquarePass>(v, x, s, ra, rb, i * P);
#pragma unroll
      for (int k = 0; k < P; ++k) v[k] = (v[k] - m) * (v[k] - m);
      ss += vec::tree_sum(v);
    }
  } else {
    for (int i = lane; i < C; i += kWarp) {
      float v[1];
      row_load<T, 1, kMakeInSquarePass>(v, x, s, ra, rb, i);
      const float d = v[0] - m;
      ss += d * d;
    }
  }
  const float r = 1.0f / sqrtf(vec::warp_sum(ss) / C + eps);

  if (packed) {
    for (int i = lane; i < CP; i += kWarp) {
      float v[P], w[P];
      vec::load<T, P>(x + i * P, v);
      vec::load<T, P>(weight + i * P, w);
#pragma unroll
      for (int k = 0; k < P; ++k) v[k] = (v[k] - m) * r * w[k];
      if (!RMS && bias) {
        float bv[P];
        vec::load<T, P>(bias + i * P, bv);
#pragma unroll
        for (int k = 0; k < P; ++k) v[k] += bv[k];
      }
      vec::store<T, P>(y + i * P, v);
    }
  } else {
    for (int i = lane; i < C; i += kWarp) {
      float o = (vec::to_float(x[i]) - m) * r * vec::to_float(weight[i]);
      if (!RMS && bias) o += vec::to_float(bias[i]);
      y[i] = vec::from_float<T>(o);
    }
  }
  if (lane == 0) {
    if (!RMS && mean_out) mean_out[row] = m;
    if (rstd_out) rstd_out[row] = r;
  }
}

// Fused backward: dinp += ... for the block's rows, and the block's partial sums of dweight
// (partial[blockIdx.x * C + c]) and, for LayerNorm, dbias (partial[(gridDim.x + blockIdx.x) * C
// + c]). Dynamic shared memory: C floats (RMSNorm) or 2 * C floats (LayerNorm). packed as in
// forward; a thread then owns whole packs of columns in the column phase.
template <class T, bool RMS>
__global__ void __launch_bounds__(kBwdWarps* kWarp)
    norm_backward_kernel(T* __restrict__ dinp, float* __restrict__ partial,
                         const T* __restrict__ dout, const T* __restrict__ inp,
                         const T* __restrict__ weight, const float* __restrict__ mean,
                         const float* __restrict__ rstd, int N, int C, bool packed) {
  constexpr int P = vec::kPack<T>;
  extern __shared__ float4 smem4[];  // float4-typed so the float4 views below are aligned
  float* sh_dw = reinterpret_cast<float*>(smem4);
  float* sh_db = sh_dw + C;  // LayerNorm only
  __shared__ float sh_mean[kBwdWarps], sh_rstd[kBwdWarps];

  const int nacc = RMS ? C : 2 * C;
  for (int i = threadIdx.x; i < nacc; i += blockDim.x) sh_dw[i] = 0.f;

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int row0 = blockIdx.x * kBwdRowsPerBlock;
  const int row_end = min(row0 + kBwdRowsPerBlock, N);
  const int CP = C / P;

  for (int base = row0; base < row_end; base += kBwdWarps) {
    // (1) row phase: warp `warp` computes dinp for row base + warp
    const int row = base + warp;
    if (row < row_end) {
      const float m = RMS ? 0.f : mean[row];
      const float r = rstd[row];
      const size_t off = static_cast<size_t>(row) * C;
      const T *x = inp + off, *dy = dout + off;
      T* dx = dinp + off;
      float a = 0.f, b = 0.f;  // sums of dnorm and of dnorm * norm over the row
      if (packed) {
        for (int i = lane; i < CP; i += kWarp) {
          float v[P], g[P], w[P];
          vec::load<T, P>(x + i * P, v);
          vec::load<T, P>(dy + i * P, g);
          vec::load<T, P>(weight + i * P, w);
#pragma unroll
          for (int k = 0; k < P; ++k) {
            g[k] *= w[k];                    // dnorm
            v[k] = g[k] * ((v[k] - m) * r);  // dnorm * norm
          }
          a += vec::tree_sum(g);
          b += vec::tree_sum(v);
        }
      } else {
        for (int i = lane; i < C; i += kWarp) {
          const float dn = vec::to_float(weight[i]) * vec::to_float(dy[i]);
          a += dn;
          b += dn * ((vec::to_float(x[i]) - m) * r);
        }
      }
      a = RMS ? 0.f : vec::warp_sum(a) / C;
      b = vec::warp_sum(b) / C;
      if (packed) {
        for (int i = lane; i < CP; i += kWarp) {
          float v[P], g[P], w[P], d[P];
          vec::load<T, P>(x + i * P, v);
          vec::load<T, P>(dy + i * P, g);
          vec::load<T, P>(weight + i * P, w);
          vec::load<T, P>(dx + i * P, d);
#pragma unroll
          for (int k = 0; k < P; ++k) d[k] += (w[k] * g[k] - a - ((v[k] - m) * r) * b) * r;
          vec::store<T, P>(dx + i * P, d);
        }
      } else {
        for (int i = lane; i < C; i += kWarp) {
          const float dn = vec::to_float(weight[i]) * vec::to_float(dy[i]);
          const float norm = (vec::to_float(x[i]) - m) * r;
          dx[i] = vec::from_float<T>(vec::to_float(dx[i]) + (dn - a - norm * b) * r);
        }
      }
      if (lane == 0) {
        sh_mean[warp] = m;
        sh_rstd[warp] = r;
      }
    }
    __syncthreads();  // accumulators zeroed / row statistics published

    // (2) column phase: each thread owns fixed columns and adds this group's rows in order
    const int nrows = min(kBwdWarps, row_end - base);
    if (packed) {
      for (int i = threadIdx.x; i < CP; i += blockDim.x) {
        float dw[P], db[P] = {};
        smem_load<P>(dw, sh_dw + i * P);
        if (!RMS) smem_load<P>(db, sh_db + i * P);
        for (int k = 0; k < nrows; ++k) {
          const size_t off = static_cast<size_t>(base + k) * C + static_cast<size_t>(i) * P;
          float v[P], g[P];
          vec::load<T, P>(inp + off, v);
          vec::load<T, P>(dout + off, g);
          const float m = sh_mean[k], r = sh_rstd[k];
#pragma unroll
          for (int e = 0; e < P; ++e) {
            dw[e] += g[e] * ((v[e] - m) * r);
            if (!RMS) db[e] += g[e];
          }
        }
        smem_store<P>(sh_dw + i * P, dw);
        if (!RMS) smem_store<P>(sh_db + i * P, db);
      }
    } else {
      for (int i = threadIdx.x; i < C; i += blockDim.x) {
        float dw = sh_dw[i], db = RMS ? 0.f : sh_db[i];
        for (int k = 0; k < nrows; ++k) {
          const size_t off = static_cast<size_t>(base + k) * C + i;
          const float g = vec::to_float(dout[off]);
          dw += g * ((vec::to_float(inp[off]) - sh_mean[k]) * sh_rstd[k]);
          if (!RMS) db += g;
        }
        sh_dw[i] = dw;
        if (!RMS) sh_db[i] = db;
      }
    }
    __syncthreads();  // sh_mean / sh_rstd are rewritten by the next group
  }

  // the loop's last barrier published every accumulator; write them back coalesced
  const size_t nblocks = gridDim.x;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    partial[blockIdx.x * static_cast<size_t>(C) + i] = sh_dw[i];
    if (!RMS) partial[(nblocks + blockIdx.x) * C + i] = sh_db[i];
  }
}

// Sums rows [z * per, (z + 1) * per) of partial[kind][nrows][C], kind = blockIdx.y (0: dweight,
// 1: dbias), slice z = blockIdx.z of gridDim.z: into dst[c] (+=) when there is one slice, else
// into stage[(kind * gridDim.z + z) * C + c] (=). threadIdx.x picks the column (coalesced),
// threadIdx.y strides through the slice's rows; the kSumRows sub-sums are then added in a fixed
// order by row 0.
__global__ void partial_sum_kernel(float* __restrict__ dweight, float* __restrict__ dbias,
                                   float* __restrict__ stage, const float* __restrict__ partial,
                                   int nrows, int per, int C) {
  __shared__ float sh[kSumRows][kWarp + 1];
  const int c = blockIdx.x * kWarp + threadIdx.x;
  const int kind = blockIdx.y, z = blockIdx.z;
  const float* p = partial + static_cast<size_t>(kind) * nrows * C;
  const int r0 = z * per, r1 = min(nrows, r0 + per);
  float s = 0.f;
  if (c < C) {
    for (int b = r0 + threadIdx.y; b < r1; b += kSumRows) s += p[static_cast<size_t>(b) * C + c];
  }
  sh[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = 0.f;
    for (int k = 0; k < kSumRows; ++k) t += sh[k][threadIdx.x];
    if (gridDim.z > 1) {
      stage[(static_cast<size_t>(kind) * gridDim.z + z) * C + c] = t;
    } else {
      float* dst = kind == 0 ? dweight : dbias;
      dst[c] += t;
    }
  }
}

int backward_blocks(int N) { return (N + kBwdRowsPerBlock - 1) / kBwdRowsPerBlock; }

// slices of the split reduction of `nblocks` partial rows (1: a single direct pass)
int reduce_slices(int nblocks) {
  return std::min(kMaxSlices, (nblocks + kRowsPerSlice - 1) / kRowsPerSlice);
}

// floats of backward's scratch: the partials, then the split reduction's stage
size_t backward_scratch_floats(int N, int C, int kinds) {
  if (N <= 0 || C <= 0) return 0;
  const int nblocks = backward_blocks(N), slices = reduce_slices(nblocks);
  return static_cast<size_t>(kinds) * C * (nblocks + (slices > 1 ? slices : 0));
}

// RES: sum = a + b is normalised (inp null); else inp (sum, a, b null). Null pointers count as
// aligned: they are never read.
template <class T, bool RMS, bool RES>
void launch_forward(T* out, float* mean, float* rstd, const T* inp, T* sum, const T* a,
                    const T* b, const T* weight, const T* bias, int N, int C, float eps,
                    cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const bool packed = C % vec::kPack<T> == 0 && vec::aligned16(out) && vec::aligned16(inp) &&
                      vec::aligned16(sum) && vec::aligned16(a) && vec::aligned16(b) &&
                      vec::aligned16(weight) && vec::aligned16(bias);
  const int blocks = (N + kFwdWarps - 1) / kFwdWarps;
  norm_forward_kernel<T, RMS, RES><<<blocks, kFwdWarps * kWarp, 0, stream>>>(
      out, mean, rstd, inp, sum, a, b, weight, bias, N, C, eps, packed);
  CUDA_CHECK(cudaGetLastError());
}

template <class T, bool RMS>
void launch_backward(T* dinp, float* dweight, float* dbias, const T* dout, const T* inp,
                     const T* weight, const float* mean, const float* rstd, int N, int C,
                     cudaStream_t stream, float* scratch, NormReduce reduce) {
  if (N <= 0 || C <= 0) return;
  const bool packed = C % vec::kPack<T> == 0 && vec::aligned16(dinp) && vec::aligned16(dout) &&
                      vec::aligned16(inp) && vec::aligned16(weight);
  const int blocks = backward_blocks(N);
  const size_t smem = (RMS ? 1 : 2) * static_cast<size_t>(C) * sizeof(float);
  if (smem > kDefaultSmem) {  // large C: opt in to more than 48 KiB of shared memory
    int dev = 0, optin = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    if (smem + 2 * kBwdWarps * sizeof(float) > static_cast<size_t>(optin)) {
      throw std::runtime_error("merino::cuda norm backward: C = " + std::to_string(C) +
                               " needs " + std::to_string(smem) +
                               " bytes of shared memory, the device allows " +
                               std::to_string(optin));
    }
    CUDA_CHECK(cudaFuncSetAttribute(norm_backward_kernel<T, RMS>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem)));
  }
  const int kinds = RMS ? 1 : 2;
  float* part = scratch;
  if (!part) {
    CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&part),
                               backward_scratch_floats(N, C, kinds) * sizeof(float), stream));
  }
  norm_backward_kernel<T, RMS><<<blocks, kBwdWarps * kWarp, smem, stream>>>(
      dinp, part, dout, inp, weight, mean, rstd, N, C, packed);
  const cudaError_t launch_err = cudaGetLastError();
  if (launch_err == cudaSuccess) {
    const unsigned cols = (C + kWarp - 1) / kWarp, used = (!RMS && dbias) ? 2 : 1;
    const int slices = reduce == NormReduce::kSplit ? reduce_slices(blocks) : 1;
    const dim3 threads(kWarp, kSumRows);
    if (slices == 1) {
      partial_sum_kernel<<<dim3(cols, used, 1), threads, 0, stream>>>(dweight, dbias, nullptr,
                                                                      part, blocks, blocks, C);
    } else {
      float* stage = part + static_cast<size_t>(kinds) * blocks * C;
      const int per = (blocks + slices - 1) / slices;
      partial_sum_kernel<<<dim3(cols, used, slices), threads, 0, stream>>>(
          nullptr, nullptr, stage, part, blocks, per, C);
      partial_sum_kernel<<<dim3(cols, used, 1), threads, 0, stream>>>(dweight, dbias, nullptr,
                                                                      stage, slices, slices, C);
    }
  }
  if (!scratch) CUDA_CHECK(cudaFreeAsync(part, stream));
  CUDA_CHECK(launch_err);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class T>
void layernorm_forward(T* out, float* mean, float* rstd, const T* inp, const T* weight,
                       const T* bias, int N, int C, float eps, cudaStream_t stream) {
  launch_forward<T, false, false>(out, mean, rstd, inp, nullptr, nullptr, nullptr, weight, bias,
                                  N, C, eps, stream);
}

template <class T>
void layernorm_backward(T* dinp, float* dweight, float* dbias, const T* dout, const T* inp,
                        const T* weight, const float* mean, const float* rstd, int N, int C,
                        cudaStream_t stream, float* scratch, NormReduce reduce) {
  launch_backward<T, false>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, stream,
                            scratch, reduce);
}

size_t layernorm_backward_scratch_floats(int N, int C) { return backward_scratch_floats(N, C, 2); }

template <class T>
void rmsnorm_forward(T* out, float* rstd, const T* inp, const T* weight, int N, int C, float eps,
                     cudaStream_t stream) {
  launch_forward<T, true, false>(out, nullptr, rstd, inp, nullptr, nullptr, nullptr, weight,
                                 nullptr, N, C, eps, stream);
}

template <class T>
void rmsnorm_backward(T* dinp, float* dweight, const T* dout, const T* inp, const T* weight,
                      const float* rstd, int N, int C, cudaStream_t stream, float* scratch,
                      NormReduce reduce) {
  launch_backward<T, true>(dinp, dweight, nullptr, dout, inp, weight, nullptr, rstd, N, C, stream,
                           scratch, reduce);
}

size_t rmsnorm_backward_scratch_floats(int N, int C) { return backward_scratch_floats(N, C, 1); }

template <class T>
void residual_layernorm_forward(T* sum, T* out, float* mean, float* rstd, const T* a, const T* b,
                                const T* weight, const T* bias, int N, int C, float eps,
                                cudaStream_t stream) {
  launch_forward<T, false, true>(out, mean, rstd, nullptr, sum, a, b, weight, bias, N, C, eps,
                                 stream);
}

template <class T>
void residual_rmsnorm_forward(T* sum, T* out, float* rstd, const T* a, const T* b,
                              const T* weight, int N, int C, float eps, cudaStream_t stream) {
  launch_forward<T, true, true>(out, nullptr, rstd, nullptr, sum, a, b, weight, nullptr, N, C,
                                eps, stream);
}

#define MERINO_INSTANTIATE_NORMS(T)                                                            \
  template void layernorm_forward<T>(T*, float*, float*, const T*, const T*, const T*, int, int, \
                                     float, cudaStream_t);                                     \
  template void layernorm_backward<T>(T*, float*, float*, const T*, const T*, const T*,         \
                                      const float*, const float*, int, int, cudaStream_t,       \
                                      float*, NormReduce);                                      \
  template void rmsnorm_forward<T>(T*, float*, const T*, const T*, int, int, float,             \
                                   cudaStream_t);                                               \
  template void rmsnorm_backward<T>(T*, float*, const T*, const T*, const T*, const float*, int, \
                                    int, cudaStream_t, float*, NormReduce);                     \
  template void residual_layernorm_forward<T>(T*, T*, float*, float*, const T*, const T*,       \
                                              const T*, const T*, int, int, float, cudaStream_t); \
  template void residual_rmsnorm_forward<T>(T*, T*, float*, const T*, const T*, const T*, int,  \
                                            int, float, cudaStream_t);

MERINO_INSTANTIATE_NORMS(float)
MERINO_INSTANTIATE_NORMS(__nv_bfloat16)

#undef MERINO_INSTANTIATE_NORMS

}  // namespace merino::cuda

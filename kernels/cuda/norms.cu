// LayerNorm / RMSNorm in fp32 on CUDA; CPU twin: kernels/cpu/norms.cpp.
//
// Design (after the approach of llm.c's layernorm kernels, rewritten for this project):
// * Forward: one warp per row. The warp reads the row with 128-bit float4 loads when C % 4 == 0
//   and every pointer is 16-byte aligned (scalar loads otherwise), reduces with butterfly warp
//   shuffles (every lane ends with the same bits, no shared memory, no __syncthreads), and
//   writes out plus the row statistics (mean, rstd) that backward reuses. Statistics are
//   two-pass (mean, then sum of squared deviations): the 2nd and 3rd reads of a row hit L1/L2,
//   and two-pass is as stable as the CPU twin. LayerNorm and RMSNorm share one template
//   (RMSNorm = LayerNorm with mean 0 and no bias).
// * Backward is fused: one kernel computes dinp AND the per-block partial sums of dweight and
//   dbias; a second small kernel reduces the partials. A block owns a fixed run of
//   kBwdRowsPerBlock rows and walks it kBwdWarps rows at a time: each warp computes dinp for
//   one row (two warp reductions: mean(dnorm), mean(dnorm * norm)), then after __syncthreads
//   the whole block switches to column ownership -- thread t owns columns t, t + blockDim, ...
//   -- and adds those rows' dout * norm and dout into a shared-memory accumulator (the row data
//   was just read, so these loads hit L1). Each accumulator element has exactly one writer and
//   a fixed order, and the reduction kernel sums the partials in a fixed order too: no float
//   atomics, so results are bitwise reproducible run to run. The row partition depends only on
//   N (not on the GPU's SM count), so they are reproducible across GPUs as well.
// * Why += in backward: the norm sits on a residual branch, so its input gradient is added to the
//   residual-stream gradient already in dinp; dweight / dbias accumulate over micro-batches and
//   shared layers. Forward overwrites (=) its outputs.
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/norms.cuh"

#include <cstdint>
#include <string>

namespace merino::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kFwdWarps = 8;          // rows (warps) per forward block: 256 threads
constexpr int kBwdWarps = 4;          // warps per backward block: 128 threads
constexpr int kBwdRowsPerBlock = 16;  // rows per backward block; fixes the partial-sum partition
constexpr int kSumRows = 32;          // threadIdx.y extent of the partial-sum reduction kernel
constexpr size_t kDefaultSmem = 48 * 1024;

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float hsum(float4 v) { return (v.x + v.y) + (v.z + v.w); }

// RMS = true: RMSNorm (mean taken as 0, no bias, no mean output).
template <bool RMS>
__global__ void norm_forward_kernel(float* __restrict__ out, float* __restrict__ mean_out,
                                    float* __restrict__ rstd_out, const float* __restrict__ inp,
                                    const float* __restrict__ weight,
                                    const float* __restrict__ bias, int N, int C, float eps,
                                    bool vec) {
  const int lane = threadIdx.x % kWarp;
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= N) return;  // whole warps leave together: the shuffles below stay full-warp
  const float* x = inp + static_cast<size_t>(row) * C;
  float* y = out + static_cast<size_t>(row) * C;
  const int C4 = C / 4;
  const float4* x4 = reinterpret_cast<const float4*>(x);

  float m = 0.f;
  if (!RMS) {
    float s = 0.f;
    if (vec) {
      for (int i = lane; i < C4; i += kWarp) s += hsum(x4[i]);
    } else {
      for (int i = lane; i < C; i += kWarp) s += x[i];
    }
    m = warp_sum(s) / C;
  }
  float ss = 0.f;
  if (vec) {
    for (int i = lane; i < C4; i += kWarp) {
      const float4 v = x4[i];
      const float a = v.x - m, b = v.y - m, c = v.z - m, d = v.w - m;
      ss += (a * a + b * b) + (c * c + d * d);
    }
  } else {
    for (int i = lane; i < C; i += kWarp) {
      const float a = x[i] - m;
      ss += a * a;
    }
  }
  const float r = 1.0f / sqrtf(warp_sum(ss) / C + eps);

  if (vec) {
    const float4* w4 = reinterpret_cast<const float4*>(weight);
    const float4* b4 = reinterpret_cast<const float4*>(bias);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (int i = lane; i < C4; i += kWarp) {
      const float4 v = x4[i], w = w4[i];
      float4 o;
      o.x = (v.x - m) * r * w.x;
      o.y = (v.y - m) * r * w.y;
      o.z = (v.z - m) * r * w.z;
      o.w = (v.w - m) * r * w.w;
      if (!RMS && bias) {
        const float4 b = b4[i];
        o.x += b.x, o.y += b.y, o.z += b.z, o.w += b.w;
      }
      y4[i] = o;
    }
  } else {
    for (int i = lane; i < C; i += kWarp) {
      float o = (x[i] - m) * r * weight[i];
      if (!RMS && bias) o += bias[i];
      y[i] = o;
    }
  }
  if (lane == 0) {
    if (!RMS && mean_out) mean_out[row] = m;
    if (rstd_out) rstd_out[row] = r;
  }
}

// Fused backward: dinp += ... for the block's rows, and the block's partial sums of dweight
// (partial[blockIdx.x * C + c]) and, for LayerNorm, dbias (partial[(gridDim.x + blockIdx.x) * C
// + c]). Dynamic shared memory: C floats (RMSNorm) or 2 * C floats (LayerNorm).
template <bool RMS>
__global__ void __launch_bounds__(kBwdWarps* kWarp)
    norm_backward_kernel(float* __restrict__ dinp, float* __restrict__ partial,
                         const float* __restrict__ dout, const float* __restrict__ inp,
                         const float* __restrict__ weight, const float* __restrict__ mean,
                         const float* __restrict__ rstd, int N, int C, bool vec) {
  extern __shared__ float4 smem4[];  // float4-typed so the float4 view below is aligned
  float* sh_dw = reinterpret_cast<float*>(smem4);
  float* sh_db = sh_dw + C;  // LayerNorm only
  __shared__ float sh_mean[kBwdWarps], sh_rstd[kBwdWarps];

  const int nacc = RMS ? C : 2 * C;
  for (int i = threadIdx.x; i < nacc; i += blockDim.x) sh_dw[i] = 0.f;

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int row0 = blockIdx.x * kBwdRowsPerBlock;
  const int row_end = min(row0 + kBwdRowsPerBlock, N);
  const int C4 = C / 4;
  const float4* w4 = reinterpret_cast<const float4*>(weight);

  for (int base = row0; base < row_end; base += kBwdWarps) {
    // (1) row phase: warp `warp` computes dinp for row base + warp
    const int row = base + warp;
    if (row < row_end) {
      const float m = RMS ? 0.f : mean[row];
      const float r = rstd[row];
      const size_t off = static_cast<size_t>(row) * C;
      const float *x = inp + off, *dy = dout + off;
      float* dx = dinp + off;
      float a = 0.f, b = 0.f;  // sums of dnorm and of dnorm * norm over the row
      if (vec) {
        const float4 *x4 = reinterpret_cast<const float4*>(x),
                     *dy4 = reinterpret_cast<const float4*>(dy);
        for (int i = lane; i < C4; i += kWarp) {
          const float4 v = x4[i], g = dy4[i], w = w4[i];
          const float d0 = w.x * g.x, d1 = w.y * g.y, d2 = w.z * g.z, d3 = w.w * g.w;
          a += (d0 + d1) + (d2 + d3);
          b += (d0 * ((v.x - m) * r) + d1 * ((v.y - m) * r)) +
               (d2 * ((v.z - m) * r) + d3 * ((v.w - m) * r));
        }
      } else {
        for (int i = lane; i < C; i += kWarp) {
          const float dn = weight[i] * dy[i];
          a += dn;
          b += dn * ((x[i] - m) * r);
        }
      }
      a = RMS ? 0.f : warp_sum(a) / C;
      b = warp_sum(b) / C;
      if (vec) {
        const float4 *x4 = reinterpret_cast<const float4*>(x),
                     *dy4 = reinterpret_cast<const float4*>(dy);
        float4* dx4 = reinterpret_cast<float4*>(dx);
        for (int i = lane; i < C4; i += kWarp) {
          const float4 v = x4[i], g = dy4[i], w = w4[i];
          float4 d = dx4[i];
          d.x += (w.x * g.x - a - ((v.x - m) * r) * b) * r;
          d.y += (w.y * g.y - a - ((v.y - m) * r) * b) * r;
          d.z += (w.z * g.z - a - ((v.z - m) * r) * b) * r;
          d.w += (w.w * g.w - a - ((v.w - m) * r) * b) * r;
          dx4[i] = d;
        }
      } else {
        for (int i = lane; i < C; i += kWarp) {
          dx[i] += (weight[i] * dy[i] - a - ((x[i] - m) * r) * b) * r;
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
    if (vec) {
      float4* dw4 = reinterpret_cast<float4*>(sh_dw);
      float4* db4 = reinterpret_cast<float4*>(sh_db);
      for (int i = threadIdx.x; i < C4; i += blockDim.x) {
        float4 dw = dw4[i], db = make_float4(0.f, 0.f, 0.f, 0.f);
        if (!RMS) db = db4[i];
        for (int k = 0; k < nrows; ++k) {
          const size_t off = static_cast<size_t>(base + k) * C;
          const float4 v = reinterpret_cast<const float4*>(inp + off)[i];
          const float4 g = reinterpret_cast<const float4*>(dout + off)[i];
          const float m = sh_mean[k], r = sh_rstd[k];
          dw.x += g.x * ((v.x - m) * r);
          dw.y += g.y * ((v.y - m) * r);
          dw.z += g.z * ((v.z - m) * r);
          dw.w += g.w * ((v.w - m) * r);
          if (!RMS) db.x += g.x, db.y += g.y, db.z += g.z, db.w += g.w;
        }
        dw4[i] = dw;
        if (!RMS) db4[i] = db;
      }
    } else {
      for (int i = threadIdx.x; i < C; i += blockDim.x) {
        float dw = sh_dw[i], db = RMS ? 0.f : sh_db[i];
        for (int k = 0; k < nrows; ++k) {
          const size_t off = static_cast<size_t>(base + k) * C + i;
          const float g = dout[off];
          dw += g * ((inp[off] - sh_mean[k]) * sh_rstd[k]);
          if (!RMS) db += g;
        }
        sh_dw[i] = dw;
        if (!RMS) sh_db[i] = db;
      }
    }
    __syncthreads();  // sh_mean / sh_rstd are rewritten by the next group
  }

  // each thread writes back exactly the accumulator elements it owned
  const size_t nblocks = gridDim.x;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    partial[blockIdx.x * static_cast<size_t>(C) + i] = sh_dw[i];
    if (!RMS) partial[(nblocks + blockIdx.x) * C + i] = sh_db[i];
  }
}

// dst[c] += sum over b of partial[(kind * nblocks + b) * C + c], kind = blockIdx.y (0: dweight,
// 1: dbias). threadIdx.x picks the column (coalesced), threadIdx.y strides through the blocks;
// the kSumRows sub-sums are then added in a fixed order by row 0.
__global__ void partial_sum_kernel(float* __restrict__ dweight, float* __restrict__ dbias,
                                   const float* __restrict__ partial, int nblocks, int C) {
  __shared__ float sh[kSumRows][kWarp + 1];
  const int c = blockIdx.x * kWarp + threadIdx.x;
  const int kind = blockIdx.y;
  const float* p = partial + static_cast<size_t>(kind) * nblocks * C;
  float s = 0.f;
  if (c < C) {
    for (int b = threadIdx.y; b < nblocks; b += kSumRows) s += p[static_cast<size_t>(b) * C + c];
  }
  sh[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = 0.f;
    for (int k = 0; k < kSumRows; ++k) t += sh[k][threadIdx.x];
    float* dst = kind == 0 ? dweight : dbias;
    dst[c] += t;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

int backward_blocks(int N) { return (N + kBwdRowsPerBlock - 1) / kBwdRowsPerBlock; }

template <bool RMS>
void launch_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                    const float* bias, int N, int C, float eps, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const bool vec = C % 4 == 0 && aligned16(out) && aligned16(inp) && aligned16(weight) &&
                   aligned16(bias);
  const int blocks = (N + kFwdWarps - 1) / kFwdWarps;
  norm_forward_kernel<RMS><<<blocks, kFwdWarps * kWarp, 0, stream>>>(out, mean, rstd, inp,
                                                                     weight, bias, N, C, eps, vec);
  CUDA_CHECK(cudaGetLastError());
}

template <bool RMS>
void launch_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, const float* mean, const float* rstd,
                     int N, int C, cudaStream_t stream, float* scratch) {
  if (N <= 0 || C <= 0) return;
  const bool vec = C % 4 == 0 && aligned16(dinp) && aligned16(dout) && aligned16(inp) &&
                   aligned16(weight);
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
    CUDA_CHECK(cudaFuncSetAttribute(norm_backward_kernel<RMS>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem)));
  }
  float* part = scratch;
  if (!part) {
    CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&part),
                               (RMS ? 1 : 2) * static_cast<size_t>(blocks) * C * sizeof(float),
                               stream));
  }
  norm_backward_kernel<RMS><<<blocks, kBwdWarps * kWarp, smem, stream>>>(
      dinp, part, dout, inp, weight, mean, rstd, N, C, vec);
  const cudaError_t launch_err = cudaGetLastError();
  if (launch_err == cudaSuccess) {
    const dim3 grid((C + kWarp - 1) / kWarp, (!RMS && dbias) ? 2 : 1);
    partial_sum_kernel<<<grid, dim3(kWarp, kSumRows), 0, stream>>>(dweight, dbias, part, blocks,
                                                                    C);
  }
  if (!scratch) CUDA_CHECK(cudaFreeAsync(part, stream));
  CUDA_CHECK(launch_err);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C, float eps, cudaStream_t stream) {
  launch_forward<false>(out, mean, rstd, inp, weight, bias, N, C, eps, stream);
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean,
                        const float* rstd, int N, int C, cudaStream_t stream, float* scratch) {
  launch_backward<false>(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, stream,
                         scratch);
}

size_t layernorm_backward_scratch_floats(int N, int C) {
  return N <= 0 || C <= 0 ? 0 : 2 * static_cast<size_t>(backward_blocks(N)) * C;
}

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                     float eps, cudaStream_t stream) {
  launch_forward<true>(out, nullptr, rstd, inp, weight, nullptr, N, C, eps, stream);
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C, cudaStream_t stream,
                      float* scratch) {
  launch_backward<true>(dinp, dweight, nullptr, dout, inp, weight, nullptr, rstd, N, C, stream,
                        scratch);
}

size_t rmsnorm_backward_scratch_floats(int N, int C) {
  return N <= 0 || C <= 0 ? 0 : static_cast<size_t>(backward_blocks(N)) * C;
}

}  // namespace merino::cuda

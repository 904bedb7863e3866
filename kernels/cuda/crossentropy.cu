// Fused softmax + cross-entropy on CUDA, fp32 arithmetic on float or bf16 logits; CPU twin:
// kernels/cpu/crossentropy.cpp.
//
// Design: one block per row (the vocabulary, ~50k, is long enough to occupy a block).
// * Rows are ld apart (ld >= V); columns V..ld-1 are the padding of a vocabulary rounded up to
//   an aligned width (docs/MODEL.md): read as -FLT_MAX, so they add exp(-huge) = 0 to the sum,
//   and written as 0 by the backward pass.
// * Pass 1 reads the row once, 128-bit loads (4 floats or 8 bf16, vec.cuh) when ld is a multiple
//   of that pack and the pointer is 16-byte aligned (scalar otherwise), keeping an online
//   (running max m, sum s of exp(x - m)) pair per thread: when a larger value arrives, s is
//   rescaled by exp(m_old - m_new). The pairs are merged with warp shuffles and then across
//   warps through shared memory, in a fixed order, so results are deterministic.
//   loss = log(s) + m - x[target].
// * Pass 2 (forward_backward only) reads the row again and overwrites it in place with
//   dloss_scale * (exp(x - m) / s - onehot(target)), so the N x V probability matrix never
//   exists beside the logits. x[target] is read before the first __syncthreads, hence before
//   any thread of the block writes the row.
// * Rows whose target == ignore_index get loss 0 and (forward_backward) a zero gradient row.
//   A target outside [0, V) that is not ignore_index cannot raise an error from a kernel: its
//   loss is NaN (so it shows up in the mean loss) and its gradient row is dloss_scale * softmax.
// * bf16 logits (mixed precision) are widened on load; max, sum and loss stay fp32 and each
//   gradient element is rounded to bf16 once when stored. The target entry is recomputed from
//   the widened logit, as for fp32.
#include "kernels/cuda/crossentropy.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace merino::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 512;

struct MaxSum {
  float m;  // running maximum
  float s;  // sum of exp(x - m)
};

// Merge two partial (max, sum) pairs. Symmetric in a and b up to float commutativity, so the
// butterfly shuffle leaves the same bits in every lane.
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

// packed: 16-byte packs of P logits (ld % P == 0, row pointer 16-byte aligned); only the last
// pack holding a scored column can also hold padding columns
template <class T, bool BACKWARD>
__global__ void __launch_bounds__(kThreads)
    crossentropy_kernel(T* __restrict__ logits, float* __restrict__ losses,
                        const int32_t* __restrict__ targets, int V, int ld, int32_t ignore_index,
                        float dloss_scale, bool packed) {
  constexpr int P = vec::kPack<T>;
  __shared__ MaxSum sh_part[kThreads / kWarp];
  __shared__ MaxSum sh_total;
  const int row = blockIdx.x;
  const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
  T* x = logits + static_cast<size_t>(row) * ld;
  const int32_t target = targets[row];

  if (target == ignore_index) {  // block-uniform branch
    if (tid == 0) losses[row] = 0.f;
    if (BACKWARD) {
      for (int i = tid; i < ld; i += blockDim.x) x[i] = vec::from_float<T>(0.f);
    }
    return;
  }
  const bool valid = target >= 0 && target < V;
  float x_target = 0.f;
  if (tid == 0 && valid) x_target = vec::to_float(x[target]);  // before any write to the row

  // pass 1: online max / sum of exponentials. Starting from -FLT_MAX rather than -inf keeps
  // -inf logits (masked entries) from producing exp(-inf - -inf) = NaN.
  MaxSum acc = {-FLT_MAX, 0.f};
  const int VP = (V + P - 1) / P;  // packs holding a scored column
  if (packed) {
    for (int i = tid; i < VP; i += blockDim.x) {
      float v[P];
      vec::load<T, P>(x + i * P, v);
#pragma unroll
      for (int k = 0; k < P; ++k)
        if (i * P + k >= V) v[k] = -FLT_MAX;
      const float vm = vec::tree_max(v);
      if (vm > acc.m) {
        acc.s *= expf(acc.m - vm);  // 0 * exp(very negative) = 0 on the first element
        acc.m = vm;
      }
#pragma unroll
      for (int k = 0; k < P; ++k) v[k] = expf(v[k] - acc.m);
      acc.s += vec::tree_sum(v);
    }
  } else {
    for (int i = tid; i < V; i += blockDim.x) {
      const float v = vec::to_float(x[i]);
      if (v > acc.m) {
        acc.s *= expf(acc.m - v);
        acc.m = v;
      }
      acc.s += expf(v - acc.m);
    }
  }
  for (int o = kWarp / 2; o > 0; o >>= 1) {
    const MaxSum other = {__shfl_xor_sync(0xffffffffu, acc.m, o),
                          __shfl_xor_sync(0xffffffffu, acc.s, o)};
    acc = merge(acc, other);
  }
  if (lane == 0) sh_part[warp] = acc;
  __syncthreads();
  if (tid == 0) {
    MaxSum t = sh_part[0];
    for (int w = 1; w < static_cast<int>(blockDim.x / kWarp); ++w) t = merge(t, sh_part[w]);
    sh_total = t;
    losses[row] = valid ? logf(t.s) + t.m - x_target : NAN;
  }
  if (!BACKWARD) return;
  __syncthreads();

  // pass 2: dlogits = dloss_scale * (softmax - onehot(target)), in place
  const float m = sh_total.m;
  const float scale = dloss_scale / sh_total.s;
  if (packed) {
    for (int i = tid; i < ld / P; i += blockDim.x) {
      float v[P];
      vec::load<T, P>(x + i * P, v);
#pragma unroll
      for (int k = 0; k < P; ++k) v[k] = i * P + k < V ? expf(v[k] - m) * scale : 0.f;
      vec::store<T, P>(x + i * P, v);
    }
  } else {
    for (int i = tid; i < ld; i += blockDim.x) {
      x[i] = vec::from_float<T>(i < V ? expf(vec::to_float(x[i]) - m) * scale : 0.f);
    }
  }
  __syncthreads();  // the thread that wrote x[target] is not necessarily tid 0
  if (tid == 0 && valid) {
    // recompute p_target from x_target instead of reading back the rounded value
    x[target] = vec::from_float<T>(dloss_scale * (expf(x_target - m) / sh_total.s - 1.f));
  }
}

template <class T, bool BACKWARD>
void launch(T* logits, float* losses, const int32_t* targets, int N, int V, int ld,
            int32_t ignore_index, float dloss_scale, cudaStream_t stream) {
  if (N <= 0 || V <= 0) return;
  if (ld < V) throw std::invalid_argument("crossentropy: row stride below the vocabulary size");
  const bool packed = ld % vec::kPack<T> == 0 && vec::aligned16(logits);
  crossentropy_kernel<T, BACKWARD><<<N, kThreads, 0, stream>>>(
      logits, losses, targets, V, ld, ignore_index, dloss_scale, packed);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class T>
void crossentropy_forward(float* losses, const T* logits, const int32_t* targets, int N, int V,
                          int ld, int32_t ignore_index, cudaStream_t stream) {
  // the forward-only instantiation never writes through the logits pointer
  launch<T, false>(const_cast<T*>(logits), losses, targets, N, V, ld, ignore_index, 0.f, stream);
}

template <class T>
void crossentropy_forward_backward(T* logits, float* losses, const int32_t* targets, int N, int V,
                                   int ld, int32_t ignore_index, float dloss_scale,
                                   cudaStream_t stream) {
  launch<T, true>(logits, losses, targets, N, V, ld, ignore_index, dloss_scale, stream);
}

template void crossentropy_forward<float>(float*, const float*, const int32_t*, int, int, int,
                                          int32_t, cudaStream_t);
template void crossentropy_forward<__nv_bfloat16>(float*, const __nv_bfloat16*, const int32_t*,
                                                  int, int, int, int32_t, cudaStream_t);
template void crossentropy_forward_backward<float>(float*, float*, const int32_t*, int, int, int,
                                                   int32_t, float, cudaStream_t);
template void crossentropy_forward_backward<__nv_bfloat16>(__nv_bfloat16*, float*,
                                                           const int32_t*, int, int, int, int32_t,
                                                           float, cudaStream_t);

}  // namespace merino::cuda

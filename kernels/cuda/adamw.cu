// Fused AdamW on CUDA; CPU twin: kernels/cpu/adamw.cpp (torch.optim.AdamW's formula).
//
// Design (the fused single-pass optimizer of llm.c's adamw kernel, written for this project):
// * One pass per element: read grad, m, v, p; write m, v, p (and the bf16 copy). Clipping and
//   loss scaling arrive as a scale factor multiplied into the gradient on the fly, so the
//   gradients are never rewritten; the scale may also come from device memory (the clip factor
//   from reduce.cu), so a clipped step needs no host round trip. The bias corrections are
//   computed once on the host in double and rounded to float, exactly as the CPU twin does.
// * Every arithmetic step uses the explicitly rounded intrinsics (__fmul_rn, __fadd_rn, ...),
//   which nvcc never contracts into FMAs: the kernel performs the CPU twin's float operations
//   in the CPU twin's order, so with an FP-contraction-free host build the results are the same
//   bits. The kernel is memory-bound (26-30 bytes per element), so the lost FMAs cost nothing.
// * 128-bit accesses: 4 elements per thread with float4 loads of p, m, v (and a float4 or
//   8-byte load of 4 bf16 gradients). A parameter range that starts inside a 16-byte line is
//   peeled: the first few elements go through the scalar path so the rest is aligned, which
//   works whenever all arrays are offset alike (as ranges of one flat buffer are). Arrays that
//   are misaligned relative to each other fall back to scalar accesses throughout. Elements are
//   independent, so the split never changes the result.
// * The bf16 variant writes the working copy with stochastic rounding: a counter-based hash of
//   (seed, step, element index) supplies the random bits (no RNG state in memory, nothing that
//   depends on the grid), see bf16_stochastic_round_bits in adamw.cuh. Stochastic rounding keeps
//   tiny updates alive in expectation in the bf16 copy, which round-to-nearest would flush.
// * narrow_bf16 is that rounding alone (fp32 master -> bf16 working copy without an update), on
//   the same stream of random bits, so a copy narrowed for step s is bit for bit the one an
//   AdamW step s would have written from the same fp32 values. 8 elements per thread: two float4
//   loads and one 16-byte store of 8 bf16, with the same peeling as the AdamW kernel (here the
//   head aligns dst, and src must then be 16-byte aligned too, as for ranges of flat buffers).
#include "kernels/cuda/adamw.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace merino::cuda {
namespace {

constexpr int kThreads = 256;
constexpr size_t kMaxBlocks = size_t(1) << 16;  // grid-stride beyond this
constexpr int kVec = 4;                         // elements per 128-bit fp32 access

struct Consts {
  float b1, one_minus_b1, b2, one_minus_b2, eps, lr, decay, inv_bc1, inv_sqrt_bc2;
  double grad_scale;
  const float* grad_scale_dev;  // may be null
  uint64_t key, index_offset;   // stochastic rounding stream (bf16 variant only)
};

using vec::to_float;

// 4 consecutive gradients as floats; `g` is 16-byte (float) or 8-byte (bf16) aligned
__device__ __forceinline__ float4 load4(const float* g) {
  return *reinterpret_cast<const float4*>(g);
}
__device__ __forceinline__ float4 load4(const __nv_bfloat16* g) {
  const uint2 w = *reinterpret_cast<const uint2*>(g);
  const __nv_bfloat16* e = reinterpret_cast<const __nv_bfloat16*>(&w);
  return make_float4(to_float(e[0]), to_float(e[1]), to_float(e[2]), to_float(e[3]));
}

// The CPU twin's expression, operation for operation (see the design note on rounding).
__device__ __forceinline__ void adamw_element(float& p, float& m, float& v, float g,
                                              const Consts& k, float scale) {
  const float gs = __fmul_rn(g, scale);
  const float mi = __fadd_rn(__fmul_rn(k.b1, m), __fmul_rn(k.one_minus_b1, gs));
  const float vi = __fadd_rn(__fmul_rn(k.b2, v), __fmul_rn(__fmul_rn(k.one_minus_b2, gs), gs));
  const float den = __fadd_rn(__fmul_rn(__fsqrt_rn(vi), k.inv_sqrt_bc2), k.eps);
  const float upd = __fadd_rn(__fdiv_rn(__fmul_rn(k.lr, __fmul_rn(mi, k.inv_bc1)), den),
                              __fmul_rn(k.decay, p));
  m = mi;
  v = vi;
  p = __fsub_rn(p, upd);
}

__device__ __forceinline__ uint32_t round_bits(float p, const Consts& k, size_t i) {
  return bf16_stochastic_round_bits(p, k.key, k.index_offset + i);
}

// Elements [head, head + 4 * nvec) are processed 4 at a time with aligned vector accesses, the
// others ([0, head) and the tail) one at a time. BF16: also write pb (the bf16 copy).
template <class G, bool BF16>
__global__ void __launch_bounds__(kThreads)
    adamw_kernel(float* __restrict__ p, __nv_bfloat16* __restrict__ pb,
                 const G* __restrict__ g, float* __restrict__ m, float* __restrict__ v, size_t n,
                 size_t head, size_t nvec, Consts k) {
  const float scale =
      k.grad_scale_dev ? static_cast<float>(k.grad_scale * double(*k.grad_scale_dev))
                       : static_cast<float>(k.grad_scale);
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t tid = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (size_t j = tid; j < nvec; j += stride) {
    const size_t i = head + j * kVec;
    float4 pv = *reinterpret_cast<const float4*>(p + i);
    float4 mv = *reinterpret_cast<const float4*>(m + i);
    float4 vv = *reinterpret_cast<const float4*>(v + i);
    const float4 gv = load4(g + i);
    adamw_element(pv.x, mv.x, vv.x, gv.x, k, scale);
    adamw_element(pv.y, mv.y, vv.y, gv.y, k, scale);
    adamw_element(pv.z, mv.z, vv.z, gv.z, k, scale);
    adamw_element(pv.w, mv.w, vv.w, gv.w, k, scale);
    *reinterpret_cast<float4*>(p + i) = pv;
    *reinterpret_cast<float4*>(m + i) = mv;
    *reinterpret_cast<float4*>(v + i) = vv;
    if (BF16) {
      // element i sits in the low half of the first word (little-endian, like bf16 arrays)
      uint2 w;
      w.x = round_bits(pv.x, k, i) | (round_bits(pv.y, k, i + 1) << 16);
      w.y = round_bits(pv.z, k, i + 2) | (round_bits(pv.w, k, i + 3) << 16);
      *reinterpret_cast<uint2*>(pb + i) = w;
    }
  }
  const size_t nscalar = n - kVec * nvec;
  for (size_t s = tid; s < nscalar; s += stride) {
    const size_t i = s < head ? s : s + kVec * nvec;
    float pi = p[i], mi = m[i], vi = v[i];
    adamw_element(pi, mi, vi, to_float(g[i]), k, scale);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    if (BF16) pb[i] = __ushort_as_bfloat16(static_cast<unsigned short>(round_bits(pi, k, i)));
  }
}

constexpr int kNarrowVec = 8;  // bf16 per 16-byte store

// Elements [head, head + 8 * nvec) 8 at a time with aligned vector accesses, the others one at
// a time, as adamw_kernel.
__global__ void __launch_bounds__(kThreads)
    narrow_kernel(__nv_bfloat16* __restrict__ dst, const float* __restrict__ src, size_t n,
                  size_t head, size_t nvec, uint64_t key, uint64_t index_offset) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t tid = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const auto bits = [&](float x, size_t i) -> uint32_t {
    return bf16_stochastic_round_bits(x, key, index_offset + i);
  };
  for (size_t j = tid; j < nvec; j += stride) {
    const size_t i = head + j * kNarrowVec;
    const float4 a = *reinterpret_cast<const float4*>(src + i);
    const float4 b = *reinterpret_cast<const float4*>(src + i + 4);
    // element i sits in the low half of the first word (little-endian, like bf16 arrays)
    uint4 w;
    w.x = bits(a.x, i) | (bits(a.y, i + 1) << 16);
    w.y = bits(a.z, i + 2) | (bits(a.w, i + 3) << 16);
    w.z = bits(b.x, i + 4) | (bits(b.y, i + 5) << 16);
    w.w = bits(b.z, i + 6) | (bits(b.w, i + 7) << 16);
    *reinterpret_cast<uint4*>(dst + i) = w;
  }
  const size_t nscalar = n - kNarrowVec * nvec;
  for (size_t s = tid; s < nscalar; s += stride) {
    const size_t i = s < head ? s : s + kNarrowVec * nvec;
    dst[i] = __ushort_as_bfloat16(static_cast<unsigned short>(bits(src[i], i)));
  }
}

bool aligned(const void* ptr, size_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

template <class G>
void launch(float* p, __nv_bfloat16* pb, const G* g, float* m, float* v, size_t n,
            const AdamWStep& s, uint64_t key, uint64_t index_offset, cudaStream_t stream,
            const float* grad_scale_dev) {
  if (n == 0) return;
  // identical constants to cpu::adamw_update<float>: computed in double, rounded to float
  Consts k;
  k.b1 = float(s.beta1);
  k.b2 = float(s.beta2);
  k.one_minus_b1 = 1.0f - k.b1;
  k.one_minus_b2 = 1.0f - k.b2;
  k.eps = float(s.eps);
  k.lr = float(s.lr);
  k.decay = float(s.lr * s.weight_decay);
  k.inv_bc1 = float(1.0 / (1.0 - std::pow(s.beta1, double(s.step))));
  k.inv_sqrt_bc2 = float(1.0 / std::sqrt(1.0 - std::pow(s.beta2, double(s.step))));
  k.grad_scale = s.grad_scale;
  k.grad_scale_dev = grad_scale_dev;
  k.key = key;
  k.index_offset = index_offset;

  // peel up to 3 elements so p is 16-byte aligned, then vectorise if every array lines up
  const size_t head =
      std::min(n, ((16 - reinterpret_cast<uintptr_t>(p) % 16) % 16) / sizeof(float));
  const size_t g_bytes = kVec * sizeof(G);  // 16 (float) or 8 (bf16)
  const bool vec = reinterpret_cast<uintptr_t>(p) % sizeof(float) == 0 &&
                   aligned(m + head, 16) && aligned(v + head, 16) && aligned(g + head, g_bytes) &&
                   (pb == nullptr || aligned(pb + head, kVec * sizeof(__nv_bfloat16)));
  const size_t nvec = vec ? (n - head) / kVec : 0;
  const size_t vhead = vec ? head : 0;
  const size_t work = std::max(nvec, n - kVec * nvec);
  const unsigned blocks =
      static_cast<unsigned>(std::min(kMaxBlocks, (work + kThreads - 1) / kThreads));
  if (pb) {
    adamw_kernel<G, true><<<blocks, kThreads, 0, stream>>>(p, pb, g, m, v, n, vhead, nvec, k);
  } else {
    adamw_kernel<G, false><<<blocks, kThreads, 0, stream>>>(p, pb, g, m, v, n, vhead, nvec, k);
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class G>
void adamw_update(float* params, const G* grads, float* m, float* v, size_t n,
                  const AdamWStep& step, cudaStream_t stream, const float* grad_scale_dev) {
  launch<G>(params, nullptr, grads, m, v, n, step, 0, 0, stream, grad_scale_dev);
}

template <class G>
void adamw_update_bf16(float* params, __nv_bfloat16* params_bf16, const G* grads, float* m,
                       float* v, size_t n, const AdamWStep& step, uint64_t seed,
                       uint64_t index_offset, cudaStream_t stream, const float* grad_scale_dev) {
  launch<G>(params, params_bf16, grads, m, v, n, step, stochastic_round_key(seed, step.step),
            index_offset, stream, grad_scale_dev);
}

void narrow_bf16(__nv_bfloat16* dst, const float* src, size_t n, const AdamWStep& step,
                 uint64_t seed, uint64_t index_offset, cudaStream_t stream) {
  if (n == 0) return;
  // peel up to 7 elements so dst is 16-byte aligned; vectorise if src then is too
  const size_t head = std::min(
      n, ((16 - reinterpret_cast<uintptr_t>(dst) % 16) % 16) / sizeof(__nv_bfloat16));
  const bool vec = reinterpret_cast<uintptr_t>(dst) % sizeof(__nv_bfloat16) == 0 &&
                   aligned(src + head, 16);
  const size_t nvec = vec ? (n - head) / kNarrowVec : 0;
  const size_t vhead = vec ? head : 0;
  const size_t work = std::max(nvec, n - kNarrowVec * nvec);
  const unsigned blocks =
      static_cast<unsigned>(std::min(kMaxBlocks, (work + kThreads - 1) / kThreads));
  narrow_kernel<<<blocks, kThreads, 0, stream>>>(dst, src, n, vhead, nvec,
                                                 stochastic_round_key(seed, step.step),
                                                 index_offset);
  CUDA_CHECK(cudaGetLastError());
}

template void adamw_update<float>(float*, const float*, float*, float*, size_t, const AdamWStep&,
                                  cudaStream_t, const float*);
template void adamw_update<__nv_bfloat16>(float*, const __nv_bfloat16*, float*, float*, size_t,
                                          const AdamWStep&, cudaStream_t, const float*);
template void adamw_update_bf16<float>(float*, __nv_bfloat16*, const float*, float*, float*,
                                       size_t, const AdamWStep&, uint64_t, uint64_t,
                                       cudaStream_t, const float*);
template void adamw_update_bf16<__nv_bfloat16>(float*, __nv_bfloat16*, const __nv_bfloat16*,
                                               float*, float*, size_t, const AdamWStep&, uint64_t,
                                               uint64_t, cudaStream_t, const float*);

}  // namespace merino::cuda

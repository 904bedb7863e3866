// Element-wise activations, residual add and accumulate on CUDA; CPU twins:
// kernels/cpu/activation.cpp and kernels/cpu/elementwise.cpp.
//
// Design (the "Packed128" idea of llm.c's element-wise kernels, rewritten for this project):
// * These ops do a few flops per element, so they are bound by memory bandwidth; the one thing
//   that matters is moving bytes in the widest transactions. Each thread loads and stores 16
//   bytes at a time (4 floats or 8 bf16; helpers in vec.cuh) when every pointer is 16-byte
//   aligned, in a grid-stride loop, and finishes the n % 4 (or % 8) tail with scalar accesses.
//   Unaligned pointers (views into the middle of a buffer) take an all-scalar instantiation of
//   the same kernel, so any pointer works. SwiGLU's rows are [gate | up], so it vectorises only
//   when F is a whole number of 16-byte packs (then every row start is aligned too).
// * Math is fp32 whatever T is; a bf16 output is rounded once, at the store. Formulas follow the
//   CPU twin exactly (GELU as x * sigmoid(2u), which avoids the cancellation in 1 + tanh u for
//   negative x; backward recomputes sigmoid instead of saving it), with the IEEE expf rather than
//   __expf, because the fp32 backend is tested against the CPU one element by element.
// * Outputs are written (=) except accumulate (+=). No __restrict__: out may alias an input (the
//   residual stream is updated in place, and accumulate is residual_forward(dst, dst, src)); each
//   element is read and written by the same thread, so aliasing is safe.
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/vec.cuh"

namespace merino::cuda {
namespace {

using vec::aligned16;
using vec::from_float;
using vec::kPack;
using vec::load;
using vec::store;
using vec::to_float;

constexpr int kThreads = 256;
// Cap on the grid: beyond this the grid-stride loop takes over (a few waves on any GPU).
constexpr size_t kMaxBlocks = size_t(1) << 16;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kGeluCubic = 0.044715f;

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// sigmoid(2u) = 0.5 (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3)
__device__ __forceinline__ float gelu_sigmoid(float x) {
  return sigmoid(2.0f * kSqrt2OverPi * (x + kGeluCubic * x * x * x));
}

// Point-wise ops: kInputs = 1 reads a; kInputs = 2 reads a and b.
struct GeluForward {
  static constexpr int kInputs = 1;
  __device__ float operator()(float x) const { return x * gelu_sigmoid(x); }
};
struct GeluBackward {  // a = dout, b = inp
  static constexpr int kInputs = 2;
  __device__ float operator()(float d, float x) const {
    const float s = gelu_sigmoid(x);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
    return d * (s + 2.0f * x * s * (1.0f - s) * du);
  }
};
struct ReluForward {
  static constexpr int kInputs = 1;
  __device__ float operator()(float x) const { return x > 0.0f ? x : 0.0f; }
};
struct ReluBackward {  // a = dout, b = inp
  static constexpr int kInputs = 2;
  __device__ float operator()(float d, float x) const { return x > 0.0f ? d : 0.0f; }
};
struct Add {
  static constexpr int kInputs = 2;
  __device__ float operator()(float a, float b) const { return a + b; }
};

template <class Op, int V>
__device__ __forceinline__ void apply(const Op& op, float (&x)[V], const float (&y)[V]) {
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if constexpr (Op::kInputs == 1) {
      x[k] = op(x[k]);
    } else {
      x[k] = op(x[k], y[k]);
    }
  }
}

// out[i] = op(a[i] (, b[i])) for i < n; V elements per access, then a scalar tail of n % V.
template <class T, class Op, int V>
__global__ void __launch_bounds__(kThreads)
    map_kernel(T* out, const T* a, const T* b, size_t n, Op op) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t tid = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t groups = n / V;
  for (size_t g = tid; g < groups; g += stride) {
    float x[V], y[V] = {};
    load<T, V>(a + g * V, x);
    if constexpr (Op::kInputs == 2) load<T, V>(b + g * V, y);
    apply(op, x, y);
    store<T, V>(out + g * V, x);
  }
  if constexpr (V > 1) {
    for (size_t i = groups * V + tid; i < n; i += stride) {
      float x[1] = {to_float(a[i])}, y[1] = {};
      if constexpr (Op::kInputs == 2) y[0] = to_float(b[i]);
      apply(op, x, y);
      out[i] = from_float<T>(x[0]);
    }
  }
}

unsigned blocks_for(size_t work_items) {
  const size_t blocks = (work_items + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

template <class T, class Op>
void launch_map(T* out, const T* a, const T* b, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int P = kPack<T>;
  const bool vec = aligned16(out) && aligned16(a) && (Op::kInputs == 1 || aligned16(b));
  if (vec) {
    map_kernel<T, Op, P><<<blocks_for(n / P + 1), kThreads, 0, stream>>>(out, a, b, n, Op{});
  } else {
    map_kernel<T, Op, 1><<<blocks_for(n), kThreads, 0, stream>>>(out, a, b, n, Op{});
  }
  CUDA_CHECK(cudaGetLastError());
}

// SwiGLU over N rows of [gate (F) | up (F)], V elements of a row per access (V divides F).
// Thread i handles vector i of the [N, F / V] output grid; Index is uint32_t whenever every
// index fits, because the row = i / (F / V) division is several times cheaper in 32 bits.
template <class T, int V, class Index>
__global__ void __launch_bounds__(kThreads)
    swiglu_forward_kernel(T* out, const T* inp, int N, int F) {
  const Index per_row = static_cast<Index>(F / V), total = static_cast<Index>(N) * per_row;
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const Index row = i / per_row;
    const int64_t col = static_cast<int64_t>(i - row * per_row) * V;
    const T* gate = inp + static_cast<int64_t>(row) * 2 * F + col;
    float g[V], u[V];
    load<T, V>(gate, g);
    load<T, V>(gate + F, u);
#pragma unroll
    for (int k = 0; k < V; ++k) g[k] = g[k] * sigmoid(g[k]) * u[k];
    store<T, V>(out + static_cast<int64_t>(row) * F + col, g);
  }
}

template <class T, int V, class Index>
__global__ void __launch_bounds__(kThreads)
    swiglu_backward_kernel(T* dinp, const T* dout, const T* inp, int N, int F) {
  const Index per_row = static_cast<Index>(F / V), total = static_cast<Index>(N) * per_row;
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const Index row = i / per_row;
    const int64_t col = static_cast<int64_t>(i - row * per_row) * V;
    const T* gate = inp + static_cast<int64_t>(row) * 2 * F + col;
    T* dgate = dinp + static_cast<int64_t>(row) * 2 * F + col;
    float g[V], u[V], d[V], dg[V], du[V];
    load<T, V>(gate, g);
    load<T, V>(gate + F, u);
    load<T, V>(dout + static_cast<int64_t>(row) * F + col, d);
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float s = sigmoid(g[k]);
      dg[k] = d[k] * u[k] * s * (1.0f + g[k] * (1.0f - s));
      du[k] = d[k] * g[k] * s;
    }
    store<T, V>(dgate, dg);
    store<T, V>(dgate + F, du);
  }
}

// Grid for N * F / V vectors, and whether 32-bit indices suffice: the largest index plus one
// grid stride must not wrap.
struct SwigluGrid {
  unsigned blocks;
  bool narrow;
};
SwigluGrid swiglu_grid(int N, int F, int V) {
  const size_t vectors = static_cast<size_t>(N) * F / V;
  const unsigned blocks = blocks_for(vectors);
  return {blocks, vectors + static_cast<size_t>(blocks) * kThreads <= UINT32_MAX};
}

}  // namespace

template <class T>
void gelu_forward(T* out, const T* inp, size_t n, cudaStream_t stream) {
  launch_map<T, GeluForward>(out, inp, nullptr, n, stream);
}

template <class T>
void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n, cudaStream_t stream) {
  launch_map<T, GeluBackward>(dinp, dout, inp, n, stream);
}

template <class T>
void relu_forward(T* out, const T* inp, size_t n, cudaStream_t stream) {
  launch_map<T, ReluForward>(out, inp, nullptr, n, stream);
}

template <class T>
void relu_backward(T* dinp, const T* dout, const T* inp, size_t n, cudaStream_t stream) {
  launch_map<T, ReluBackward>(dinp, dout, inp, n, stream);
}

template <class T>
void residual_forward(T* out, const T* a, const T* b, size_t n, cudaStream_t stream) {
  launch_map<T, Add>(out, a, b, n, stream);
}

template <class T>
void accumulate(T* dst, const T* src, size_t n, cudaStream_t stream) {
  launch_map<T, Add>(dst, dst, src, n, stream);
}

// 16-byte packs when F is a whole number of them and every pointer is aligned, else elements.
template <class T>
void swiglu_forward(T* out, const T* inp, int N, int F, cudaStream_t stream) {
  if (N <= 0 || F <= 0) return;
  constexpr int P = kPack<T>;
  const bool vec = F % P == 0 && aligned16(out) && aligned16(inp);
  const SwigluGrid grid = swiglu_grid(N, F, vec ? P : 1);
  if (vec && grid.narrow) {
    swiglu_forward_kernel<T, P, uint32_t><<<grid.blocks, kThreads, 0, stream>>>(out, inp, N, F);
  } else if (vec) {
    swiglu_forward_kernel<T, P, int64_t><<<grid.blocks, kThreads, 0, stream>>>(out, inp, N, F);
  } else if (grid.narrow) {
    swiglu_forward_kernel<T, 1, uint32_t><<<grid.blocks, kThreads, 0, stream>>>(out, inp, N, F);
  } else {
    swiglu_forward_kernel<T, 1, int64_t><<<grid.blocks, kThreads, 0, stream>>>(out, inp, N, F);
  }
  CUDA_CHECK(cudaGetLastError());
}

template <class T>
void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F, cudaStream_t stream) {
  if (N <= 0 || F <= 0) return;
  constexpr int P = kPack<T>;
  const bool vec = F % P == 0 && aligned16(dinp) && aligned16(dout) && aligned16(inp);
  const SwigluGrid grid = swiglu_grid(N, F, vec ? P : 1);
  if (vec && grid.narrow) {
    swiglu_backward_kernel<T, P, uint32_t>
        <<<grid.blocks, kThreads, 0, stream>>>(dinp, dout, inp, N, F);
  } else if (vec) {
    swiglu_backward_kernel<T, P, int64_t>
        <<<grid.blocks, kThreads, 0, stream>>>(dinp, dout, inp, N, F);
  } else if (grid.narrow) {
    swiglu_backward_kernel<T, 1, uint32_t>
        <<<grid.blocks, kThreads, 0, stream>>>(dinp, dout, inp, N, F);
  } else {
    swiglu_backward_kernel<T, 1, int64_t>
        <<<grid.blocks, kThreads, 0, stream>>>(dinp, dout, inp, N, F);
  }
  CUDA_CHECK(cudaGetLastError());
}

#define MERINO_INSTANTIATE_ACTIVATIONS(T)                                           \
  template void gelu_forward<T>(T*, const T*, size_t, cudaStream_t);                \
  template void gelu_backward<T>(T*, const T*, const T*, size_t, cudaStream_t);     \
  template void relu_forward<T>(T*, const T*, size_t, cudaStream_t);                \
  template void relu_backward<T>(T*, const T*, const T*, size_t, cudaStream_t);     \
  template void swiglu_forward<T>(T*, const T*, int, int, cudaStream_t);            \
  template void swiglu_backward<T>(T*, const T*, const T*, int, int, cudaStream_t); \
  template void residual_forward<T>(T*, const T*, const T*, size_t, cudaStream_t);  \
  template void accumulate<T>(T*, const T*, size_t, cudaStream_t);

MERINO_INSTANTIATE_ACTIVATIONS(float)
MERINO_INSTANTIATE_ACTIVATIONS(__nv_bfloat16)

#undef MERINO_INSTANTIATE_ACTIVATIONS

}  // namespace merino::cuda

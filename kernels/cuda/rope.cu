// RoPE on CUDA; CPU twin: kernels/cpu/rope.cpp ("rotate half" pairing, GPT-NeoX / HF LLaMA).
//
// Design:
// * Block (t, row group): the block first builds the cos/sin table of its position t in shared
//   memory the way the CPU twin builds its table -- angle t * theta^(-2i/hd) in double (angles
//   reach ~T radians, where float argument reduction would lose digits), cos and sin in double,
//   rounded once to float -- then rotates the q and k heads of the rows (b, t) of several b, so
//   each table is computed once per block and reused across rows and heads. No global table and
//   no scratch: the table costs hd/2 double sincos per block, next to the row's memory traffic.
//   rope_forward_at (decoding) puts row t at position pos0 + t: the table's angle uses that.
// * In place, one thread per (head, pair vector): it reads x[i..i+E) and x[i+half..i+half+E)
//   and writes both, so no element is read after another thread wrote it. 16-byte vectors (4
//   floats or 8 bf16) when hd/2 is a multiple of E and the buffer is 16-byte aligned (then every
//   head half is aligned, since rows and heads are multiples of hd); scalar otherwise.
// * The rotation uses the explicitly rounded intrinsics (no FMA contraction), the CPU twin's
//   float operations in its order: with the same table the fp32 results are the same bits.
//   bf16 inputs are rotated in fp32 and rounded once.
// * Backward is the same kernel with sin negated: a rotation's transpose is its inverse.
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/rope.cuh"
#include "kernels/cuda/vec.cuh"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace merino::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kRowsPerBlock = 4;  // batch rows sharing one block's table
constexpr int kMaxSmemBytes = 48 * 1024;

template <class T, int E>
struct alignas(sizeof(T) * E) Vec {
  T v[E];
};

using vec::from_float;
using vec::to_float;

// grid (Tn, row groups); sign = +1 forward, -1 backward
template <class T, int E>
__global__ void __launch_bounds__(kThreads)
    rope_kernel(T* __restrict__ qkv, int B, int Tn, int heads, int C3, int hd, double theta,
                double sign, int pos0) {
  extern __shared__ float table[];  // cos[half], then sign * sin[half]
  const int half = hd / 2, t = blockIdx.x;
  float* cs = table;
  float* sn = table + half;
  for (int i = threadIdx.x; i < half; i += kThreads) {
    double s, c;
    sincos(double(pos0 + t) * pow(theta, -2.0 * i / hd), &s, &c);  // the CPU twin's expression
    cs[i] = static_cast<float>(c);
    sn[i] = static_cast<float>(sign * s);
  }
  __syncthreads();
  const int hv = half / E;  // vectors per half head
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    T* row = qkv + (int64_t(b) * Tn + t) * C3;
    for (int p = threadIdx.x; p < heads * hv; p += kThreads) {
      const int i = (p % hv) * E;
      Vec<T, E>* xp = reinterpret_cast<Vec<T, E>*>(row + (p / hv) * hd + i);
      Vec<T, E>* yp = reinterpret_cast<Vec<T, E>*>(row + (p / hv) * hd + i + half);
      Vec<T, E> x = *xp, y = *yp;
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const float x0 = to_float(x.v[e]), x1 = to_float(y.v[e]), c = cs[i + e], s = sn[i + e];
        x.v[e] = from_float<T>(__fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s)));
        y.v[e] = from_float<T>(__fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c)));
      }
      *xp = x;
      *yp = y;
    }
  }
}

template <class T>
void rope_launch(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, double sign,
                 int pos0, cudaStream_t stream) {
  const int half = hd / 2;
  if (B <= 0 || Tn <= 0 || H + KVH <= 0 || half <= 0) return;
  const size_t smem = 2 * size_t(half) * sizeof(float);
  if (smem > size_t(kMaxSmemBytes)) {
    throw std::runtime_error("rope: head dim " + std::to_string(hd) + " too large");
  }
  const int C3 = (H + 2 * KVH) * hd;
  const dim3 grid(static_cast<unsigned>(Tn),
                  static_cast<unsigned>(std::min((B + kRowsPerBlock - 1) / kRowsPerBlock, 65535)));
  constexpr int E = 16 / sizeof(T);
  if (half % E == 0 && reinterpret_cast<uintptr_t>(qkv) % 16 == 0) {
    rope_kernel<T, E><<<grid, kThreads, smem, stream>>>(qkv, B, Tn, H + KVH, C3, hd, theta, sign, pos0);
  } else {
    rope_kernel<T, 1><<<grid, kThreads, smem, stream>>>(qkv, B, Tn, H + KVH, C3, hd, theta, sign, pos0);
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class T>
void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                  cudaStream_t stream) {
  rope_launch(qkv, B, Tn, H, KVH, hd, theta, 1.0, 0, stream);
}

template <class T>
void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, int pos0,
                     cudaStream_t stream) {
  rope_launch(qkv, B, Tn, H, KVH, hd, theta, 1.0, pos0, stream);
}

template <class T>
void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta,
                   cudaStream_t stream) {
  rope_launch(dqkv, B, Tn, H, KVH, hd, theta, -1.0, 0, stream);
}

template void rope_forward<float>(float*, int, int, int, int, int, double, cudaStream_t);
template void rope_forward<__nv_bfloat16>(__nv_bfloat16*, int, int, int, int, int, double,
                                          cudaStream_t);
template void rope_forward_at<float>(float*, int, int, int, int, int, double, int, cudaStream_t);
template void rope_forward_at<__nv_bfloat16>(__nv_bfloat16*, int, int, int, int, int, double, int,
                                             cudaStream_t);
template void rope_backward<float>(float*, int, int, int, int, int, double, cudaStream_t);
template void rope_backward<__nv_bfloat16>(__nv_bfloat16*, int, int, int, int, int, double,
                                           cudaStream_t);

}  // namespace merino::cuda

// Host side shared by the two attention implementations (attention.cu, v1; attention_v2.cu):
// the launch-time shape rules, the per-launch dimensions, the head-size dispatch, the
// shared-memory opt-in, the entry points' common steps, the backward's D scratch and its
// D = rowsum(dout * out) kernel. Internal to those two files.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/cuda_check.cuh"

namespace merino::cuda::attention_launch {

constexpr float kLog2e = 1.4426950408889634f;
constexpr size_t kDefaultSmem = 48 * 1024;

struct Dims {
  int T, H, KVH, group;  // group = H / KVH query heads per kv head
  int64_t C3;            // qkv row stride, elements
  int64_t Cq;            // out / dout row stride (H hd), also where the k heads start in qkv
  float scale;           // 1 / sqrt(hd)
  float scale_log2;      // scale * log2(e)
  bool vec;              // all base pointers 16-byte aligned: 16-byte (and cp.async) accesses
};

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Calls f(std::integral_constant<int, HD>) for the instance hd selects; check_shape has
// refused every other hd.
template <class F>
void with_head_dim(int hd, F&& f) {
  switch (hd) {
    case 32: f(std::integral_constant<int, 32>()); break;
    case 48: f(std::integral_constant<int, 48>()); break;
    case 64: f(std::integral_constant<int, 64>()); break;
    case 80: f(std::integral_constant<int, 80>()); break;
    case 96: f(std::integral_constant<int, 96>()); break;
    case 112: f(std::integral_constant<int, 112>()); break;
    default: f(std::integral_constant<int, 128>()); break;
  }
}

// The rules of attention.cuh; `op` names the launcher in the message.
inline void check_shape(const char* op, int B, int Tn, int H, int KVH, int hd) {
  const std::string where = std::string("merino::cuda::") + op + ": ";
  if (hd < 32 || hd > 128 || hd % 16 != 0) {
    throw std::invalid_argument(where + "head_dim " + std::to_string(hd) +
                                " is not supported (32, 48, 64, 80, 96, 112 or 128)");
  }
  if (B < 0 || Tn < 0 || H <= 0 || KVH <= 0 || H % KVH != 0) {
    throw std::invalid_argument(where + "bad shape B=" + std::to_string(B) + " T=" +
                                std::to_string(Tn) + " H=" + std::to_string(H) + " KVH=" +
                                std::to_string(KVH) + " (need B, T >= 0, H % KVH == 0)");
  }
  if (B > 65535 || H > 65535) {
    throw std::invalid_argument(where + "B and H must be at most 65535 (grid limits)");
  }
}

inline Dims make_dims(int Tn, int H, int KVH, int hd, bool vec) {
  Dims d;
  d.T = Tn;
  d.H = H;
  d.KVH = KVH;
  d.group = H / KVH;
  d.C3 = int64_t(H + 2 * KVH) * hd;
  d.Cq = int64_t(H) * hd;
  d.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  d.scale_log2 = d.scale * kLog2e;
  d.vec = vec;
  return d;
}

// Opts the kernel in to `smem` bytes of dynamic shared memory when that is above the default;
// `who` names the implementation in the message.
template <class Kernel>
void allow_smem(Kernel kernel, size_t smem, const char* who) {
  if (smem <= kDefaultSmem) return;
  int dev = 0, optin = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  if (smem > static_cast<size_t>(optin)) {
    throw std::runtime_error(std::string("merino::cuda ") + who + ": a kernel needs " +
                             std::to_string(smem) + " bytes of shared memory, the device allows " +
                             std::to_string(optin));
  }
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(smem)));
}

inline int tiles(int n, int tile) { return (n + tile - 1) / tile; }

// The backward's first kernel, the same for v1 and v2 (defined in attention.cu): D =
// rowsum(dout * out) in fp32, one warp per (batch, position, head) row, into Dsum [B][H][T].
template <class T>
void launch_rowdot(float* Dsum, const T* dout, const T* out, int B, int hd, const Dims& d,
                   cudaStream_t stream);

// Runs launch(Dsum) with the backward's D scratch: `scratch` when given, else B*T*H floats taken
// with cudaMallocAsync on `stream` and returned after (also when launch throws).
template <class Launch>
void with_backward_scratch(float* scratch, int B, int Tn, int H, cudaStream_t stream,
                           Launch&& launch) {
  float* Dsum = scratch;
  if (!Dsum) {
    CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&Dsum),
                               attention_backward_scratch_floats(B, Tn, H) * sizeof(float),
                               stream));
  }
  try {
    launch(Dsum);
  } catch (...) {
    if (!scratch) cudaFreeAsync(Dsum, stream);
    throw;
  }
  if (!scratch) CUDA_CHECK(cudaFreeAsync(Dsum, stream));
}

// The two entry points' common host side: the shape check (`op` names the entry point), nothing
// to do for an empty batch, the dimensions with the alignment of every tensor pointer, then
// launch(std::integral_constant<int, HD>, dims), for the backward inside the D scratch
// (launch(hd_constant, dims, Dsum)).
template <class Launch>
void run_forward(const char* op, const void* out, const void* qkv, int B, int Tn, int H, int KVH,
                 int hd, Launch&& launch) {
  check_shape(op, B, Tn, H, KVH, hd);
  if (B == 0 || Tn == 0) return;
  const Dims d = make_dims(Tn, H, KVH, hd, aligned16(out) && aligned16(qkv));
  with_head_dim(hd, [&](auto k) { launch(k, d); });
}
template <class Launch>
void run_backward(const char* op, const void* dqkv, const void* dout, const void* qkv,
                  const void* out, int B, int Tn, int H, int KVH, int hd, cudaStream_t stream,
                  float* scratch, Launch&& launch) {
  check_shape(op, B, Tn, H, KVH, hd);
  if (B == 0 || Tn == 0) return;
  const Dims d = make_dims(Tn, H, KVH, hd,
                           aligned16(dqkv) && aligned16(dout) && aligned16(qkv) && aligned16(out));
  with_backward_scratch(scratch, B, Tn, H, stream, [&](float* Dsum) {
    with_head_dim(hd, [&](auto k) { launch(k, d, Dsum); });
  });
}

}  // namespace merino::cuda::attention_launch

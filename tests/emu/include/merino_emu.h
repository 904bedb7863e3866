// CPU emulation of the CUDA execution model, force-included (`g++ -include merino_emu.h`) into
// the kernel sources of kernels/cuda after tests/emu/emu_transform.py has rewritten their
// `<<<...>>>` launches and `__shared__` declarations. The real CUDA headers give the types and
// the host paths of the bf16 conversions; this header adds what only exists on a device:
// threadIdx and friends, __syncthreads, warp shuffles / votes / __syncwarp, shared memory,
// atomics, math intrinsics and nvcuda::wmma. Semantics and limits: docs/CUDA.md, "CPU
// emulation". The scheduler behind it is tests/emu/src/scheduler.cpp.
//
// Model: every CUDA thread is a fiber; the threads of a block run on one OS thread, one at a
// time, each until it reaches a synchronisation point (a block barrier or a warp collective),
// in thread order; blocks run one after another. Shared memory is per block and filled with
// pseudo-random garbage at block start, so a read that a missing barrier lets run ahead of
// another thread's write sees garbage or a stale value.
#pragma once
#define MERINO_CUDA_EMU 1

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace merino_emu {

// What a running CUDA thread sees as its built-in variables.
struct ThreadView {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  unsigned lane;  // linear thread index % 32
};

// The thread the emulator is running now on this OS thread (null outside kernels).
inline thread_local const ThreadView* tl_current = nullptr;

inline const ThreadView& here() { return *tl_current; }

// Prints "merino_emu: <message> (kernel K, block (x,y,z), thread (x,y,z))" and aborts.
[[noreturn]] void fail(const char* format, ...) __attribute__((format(printf, 1, 2)));

// ---- launches (the code emu_transform.py writes for `kernel<<<grid, block, smem, stream>>>`)

struct LaunchConfig {
  dim3 grid, block;
  size_t smem;
  cudaStream_t stream;
};
inline LaunchConfig config(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = 0) {
  return {grid, block, smem, stream};
}
template <class F>
const void* func_id(F* f) {
  return reinterpret_cast<const void*>(f);
}

// Runs body once per CUDA thread of every block. Launch errors (block too large, more dynamic
// shared memory than the kernel may use, ...) are not run and are reported by the next
// cudaGetLastError, as on a device.
void launch_impl(const void* func, const char* name, const LaunchConfig& cfg,
                 void (*body)(void*), void* ctx);
template <class F>
void launch(const void* func, const char* name, const LaunchConfig& cfg, F&& body) {
  using Body = std::remove_reference_t<F>;
  launch_impl(func, name, cfg, [](void* p) { (*static_cast<Body*>(p))(); }, &body);
}

// ---- synchronisation

void syncthreads();

// The warp-collective primitive everything warp-synchronous is built on (shuffles, votes,
// __syncwarp, wmma::mma_sync; emulated device code such as the fallbacks of kernels/cuda/mma.cuh
// may use it too). Every lane named in `mask` calls it with a pointer to its own contribution;
// when the last of them arrives, combine(all, ctx) runs once, with all[l] the pointer of lane l
// (null for lanes not in the mask), and then every lane returns. The calling lane must be in the
// mask, and every lane of the mask must exist and not have exited; otherwise, or when lanes wait
// with overlapping different masks, the emulator aborts naming the lanes.
void warp_collective_impl(unsigned mask, void* mine, void (*combine)(void* const* all, void* ctx),
                          void* ctx);
template <class F>
void warp_collective(unsigned mask, void* mine, F&& combine) {
  using C = std::remove_reference_t<F>;
  warp_collective_impl(
      mask, mine, [](void* const* all, void* ctx) { (*static_cast<C*>(ctx))(all); }, &combine);
}

// ---- shared memory (emu_transform.py rewrites the declarations into these)

// The block's dynamic shared memory (`extern __shared__ T name[];`): as many bytes as the launch
// asked for, 128-byte aligned, garbage-filled at block start and followed by an inaccessible page,
// so an access past the requested size aborts (a write into the < 128 bytes of alignment slack
// before that page is reported when the block ends).
void* dynamic_shared_impl();
template <class T>
T* dynamic_shared() {
  return static_cast<T*>(dynamic_shared_impl());
}

// A static `__shared__ T name;` of the block: `key` identifies the declaration (and template
// instance), so every thread of the block gets the same object, 128-byte aligned (whatever
// __align__ the declaration had) and garbage-filled when the block first reaches it.
void* static_shared_impl(const void* key, size_t bytes);
template <class T>
T& static_shared(const void* key) {
  static_assert(std::is_trivially_destructible<std::remove_all_extents_t<T>>::value,
                "shared memory holds plain data");
  return *static_cast<T*>(static_shared_impl(key, sizeof(T)));
}

// ---- warp shuffles: values of at most 8 bytes of plain data (int, float, double, 64-bit
// integers, __nv_bfloat16 / __nv_bfloat162, whose host copy assignment is user-provided)

namespace detail {
enum class Shfl { kIdx, kUp, kDown, kXor };

struct ShflSlot {
  uint64_t value;
  int src;  // lane to read, or -1: keep own value
  uint64_t result;
};

template <class T>
T shfl(unsigned mask, T var, int arg, int width, Shfl kind) {
  static_assert(std::is_standard_layout<T>::value && std::is_trivially_destructible<T>::value &&
                    sizeof(T) <= 8,
                "shuffles move plain values of up to 64 bits");
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) {
    fail("shuffle width %d is not a power of two in [1, 32]", width);
  }
  const int lane = static_cast<int>(here().lane);
  const int seg = lane & ~(width - 1);
  int src = -1;
  switch (kind) {
    case Shfl::kIdx: src = seg + (arg & (width - 1)); break;
    case Shfl::kUp: src = (lane - seg) - arg >= 0 ? lane - arg : -1; break;
    case Shfl::kDown: src = (lane - seg) + arg < width ? lane + arg : -1; break;
    case Shfl::kXor: {
      const int j = lane ^ arg;
      src = (j & ~(width - 1)) == seg && j < 32 ? j : -1;
      break;
    }
  }
  ShflSlot slot{0, src, 0};
  std::memcpy(&slot.value, static_cast<const void*>(&var), sizeof(T));
  warp_collective(mask, &slot, [](void* const* all) {
    for (int l = 0; l < 32; ++l) {
      if (!all[l]) continue;
      auto* s = static_cast<ShflSlot*>(all[l]);
      if (s->src < 0) {
        s->result = s->value;
      } else if (all[s->src]) {
        s->result = static_cast<ShflSlot*>(all[s->src])->value;
      } else {
        s->result = 0xDEADBEEFDEADBEEFull;  // a lane outside the mask: undefined on a device
      }
    }
  });
  T out = var;
  std::memcpy(static_cast<void*>(&out), &slot.result, sizeof(T));
  return out;
}

struct VoteSlot {
  int pred;
  unsigned result;
};
inline unsigned ballot(unsigned mask, int pred) {
  VoteSlot slot{pred, 0};
  warp_collective(mask, &slot, [](void* const* all) {
    unsigned bits = 0;
    for (int l = 0; l < 32; ++l)
      if (all[l] && static_cast<VoteSlot*>(all[l])->pred) bits |= 1u << l;
    for (int l = 0; l < 32; ++l)
      if (all[l]) static_cast<VoteSlot*>(all[l])->result = bits;
  });
  return slot.result;
}
}  // namespace detail

}  // namespace merino_emu

// cuda_runtime.h declares this C++ overload for nvcc only; kernels/cuda passes kernels by name
template <class T>
cudaError_t cudaFuncSetAttribute(T* func, cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(func), attr, value);
}

// ---- built-in variables and qualifiers

#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#define threadIdx (::merino_emu::here().thread_idx)
#define blockIdx (::merino_emu::here().block_idx)
#define blockDim (::merino_emu::here().block_dim)
#define gridDim (::merino_emu::here().grid_dim)
constexpr int warpSize = 32;
// emu_transform.py rewrites every __shared__ declaration of a kernel source; one it did not see
// (in a header) must not quietly become a per-thread variable
#undef __shared__
#define __shared__ merino_emu_error_shared_declaration_not_rewritten_by_emu_transform
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

__forceinline__ void __syncthreads() { ::merino_emu::syncthreads(); }
__forceinline__ void __syncwarp(unsigned mask = 0xffffffffu) {
  ::merino_emu::warp_collective(mask, nullptr, [](void* const*) {});
}
// Fences order one thread's memory operations; a thread's own operations are in order here.
__forceinline__ void __threadfence() {}
__forceinline__ void __threadfence_block() {}

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return ::merino_emu::detail::shfl(mask, var, src_lane, width, ::merino_emu::detail::Shfl::kIdx);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::merino_emu::detail::shfl(mask, var, static_cast<int>(delta), width,
                                    ::merino_emu::detail::Shfl::kUp);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::merino_emu::detail::shfl(mask, var, static_cast<int>(delta), width,
                                    ::merino_emu::detail::Shfl::kDown);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  return ::merino_emu::detail::shfl(mask, var, lane_mask, width, ::merino_emu::detail::Shfl::kXor);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return ::merino_emu::detail::ballot(mask, pred);
}
inline int __any_sync(unsigned mask, int pred) {
  return ::merino_emu::detail::ballot(mask, pred) != 0;
}
// every lane of the mask takes part, so "all" is "the ballot is the mask"
inline int __all_sync(unsigned mask, int pred) {
  return ::merino_emu::detail::ballot(mask, pred) == mask;
}

// ---- memory access

template <class T>
__forceinline__ T __ldg(const T* p) {
  return *p;
}

// Atomics: the threads of a launch never run at the same time, so plain read-modify-writes.
template <class T>
__forceinline__ T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <class T>
__forceinline__ T atomicSub(T* p, T v) {
  const T old = *p;
  *p = old - v;
  return old;
}
template <class T>
__forceinline__ T atomicMax(T* p, T v) {
  const T old = *p;
  *p = old < v ? v : old;
  return old;
}
template <class T>
__forceinline__ T atomicMin(T* p, T v) {
  const T old = *p;
  *p = v < old ? v : old;
  return old;
}
template <class T>
__forceinline__ T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <class T>
__forceinline__ T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}

// ---- integer and float intrinsics. The fast-math intrinsics are computed exactly: the
// emulation does not model the error of CUDA's approximate functions.

__forceinline__ int min(int a, int b) { return a < b ? a : b; }
__forceinline__ int max(int a, int b) { return a > b ? a : b; }
__forceinline__ unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
__forceinline__ unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
__forceinline__ long long min(long long a, long long b) { return a < b ? a : b; }
__forceinline__ long long max(long long a, long long b) { return a > b ? a : b; }
__forceinline__ unsigned long long min(unsigned long long a, unsigned long long b) {
  return a < b ? a : b;
}
__forceinline__ unsigned long long max(unsigned long long a, unsigned long long b) {
  return a > b ? a : b;
}
__forceinline__ float min(float a, float b) { return fminf(a, b); }
__forceinline__ float max(float a, float b) { return fmaxf(a, b); }

__forceinline__ float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
__forceinline__ float __uint_as_float(unsigned x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
__forceinline__ int __float_as_int(float f) {
  int x;
  std::memcpy(&x, &f, 4);
  return x;
}
__forceinline__ unsigned __float_as_uint(float f) {
  unsigned x;
  std::memcpy(&x, &f, 4);
  return x;
}
__forceinline__ long long __double_as_longlong(double d) {
  long long x;
  std::memcpy(&x, &d, 8);
  return x;
}
__forceinline__ double __longlong_as_double(long long x) {
  double d;
  std::memcpy(&d, &x, 8);
  return d;
}
__forceinline__ int __popc(unsigned x) { return __builtin_popcount(x); }
__forceinline__ int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
__forceinline__ int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
__forceinline__ int __ffs(int x) { return __builtin_ffs(x); }
__forceinline__ unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

// IEEE round-to-nearest operations: plain float arithmetic (built with -ffp-contract=off).
__forceinline__ float __fadd_rn(float a, float b) { return a + b; }
__forceinline__ float __fsub_rn(float a, float b) { return a - b; }
__forceinline__ float __fmul_rn(float a, float b) { return a * b; }
__forceinline__ float __fdiv_rn(float a, float b) { return a / b; }
__forceinline__ float __fsqrt_rn(float a) { return sqrtf(a); }
__forceinline__ float __frcp_rn(float a) { return 1.0f / a; }
__forceinline__ float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
__forceinline__ double __dadd_rn(double a, double b) { return a + b; }
__forceinline__ double __dmul_rn(double a, double b) { return a * b; }
__forceinline__ float __expf(float x) { return expf(x); }
__forceinline__ float __exp10f(float x) { return powf(10.0f, x); }
__forceinline__ float __logf(float x) { return logf(x); }
__forceinline__ float __log2f(float x) { return log2f(x); }
__forceinline__ float __powf(float a, float b) { return powf(a, b); }
__forceinline__ float __sinf(float x) { return sinf(x); }
__forceinline__ float __cosf(float x) { return cosf(x); }
__forceinline__ float __tanf(float x) { return tanf(x); }
__forceinline__ void __sincosf(float x, float* s, float* c) { sincosf(x, s, c); }
__forceinline__ float __fdividef(float a, float b) { return a / b; }
__forceinline__ float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
__forceinline__ float rsqrtf(float x) { return 1.0f / sqrtf(x); }
__forceinline__ double rsqrt(double x) { return 1.0 / sqrt(x); }
__forceinline__ float exp10f(float x) { return powf(10.0f, x); }

// ---- nvcuda::wmma (tests/emu/include/merino_emu_wmma.h)
#include "merino_emu_wmma.h"

// Inline PTX cannot run here: device code must take its `#ifdef MERINO_CUDA_EMU` path, and an
// `asm` left in it stops the build instead of being skipped. (The system headers included above
// are the last ones allowed to use the keyword.)
#define asm merino_emu_error_inline_ptx_cannot_be_emulated_use_an_ifdef_MERINO_CUDA_EMU_path

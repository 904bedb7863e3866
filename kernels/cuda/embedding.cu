// Token + position embedding on CUDA; CPU twin: kernels/cpu/embedding.cpp.
//
// Forward is a row gather: block (row, channel slice), one 16-byte vector per thread (4 floats
// or 8 bf16; scalar when C is not a multiple of that or a pointer is misaligned), out = wte row +
// wpe row added in fp32 and written (=) with one rounding.
//
// Backward scatters dout rows into the token table, where repeated tokens would race. llm.c
// buckets (token, channel-block) pairs on the host and then sums each bucket on the GPU; here
// everything stays on the device and the summation order is fixed by the data alone:
//  1. Sort: cub::DeviceRadixSort sorts the (token, row) pairs by token. Radix sort is stable, so
//     rows of equal tokens stay in increasing order: the sorted list is unique, whatever the
//     implementation does inside.
//  2. Tiles: the sorted list is cut into fixed tiles of kTile = 32 positions; block (tile,
//     channel slice) walks its tile in order, one channel vector per thread. A run of equal
//     tokens that lies within this tile is summed as dwte[v] + d_first + d_next + ... (the CPU
//     twin's order, so a token whose rows fit in one tile gets the CPU's exact fp32 bits) and
//     written back (+= semantics). A run that crosses a tile boundary is not written to dwte:
//     the tile where it starts leaves dwte[v] + its rows in an fp32 "tail" partial, and every
//     later tile it covers leaves its own rows' sum in an fp32 "head" partial. No thread walks
//     more than 32 rows however skewed the tokens are (a padding token filling the batch is
//     spread over all tiles).
//  3. Combine: for each run that crossed tile boundaries, one thread per channel adds the head
//     partials to the tail partial in tile order and writes dwte. Every dwte element thus has
//     exactly one writer (no atomics) and is rounded to T once (bf16 never rounds a partial).
//  dwpe needs no sort: block (position, channel slice) adds the B rows of that position in
//  batch order, again the CPU twin's order.
// Loads are batched (a group of rows issued before any is added) so each thread keeps several
// 16-byte loads in flight; the additions still happen strictly in order. Accumulation is fp32
// for both element types; bf16 tables are rounded once per output element.
// Mixed precision: the gradient tables have their own type G, fp32 beside bf16 activations, so
// they are never rounded at all. The channel vector is sized by dout's type (8 channels per
// 16-byte bf16 load), and the matching 8 fp32 gradients move as two 16-byte accesses.
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/vec.cuh"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace merino::cuda {
namespace {

constexpr int kThreads = 64;    // channel vectors per block (blockIdx.y picks the slice)
constexpr int kTile = 32;       // sorted positions per backward tile; bounds every serial walk
constexpr size_t kAlign = 256;  // scratch sub-buffer alignment

// E elements, aligned as one access of up to 16 bytes (32 bytes of fp32 gradients beside 8
// bf16 channels are two 16-byte accesses, and need only 16-byte alignment)
template <class T, int E>
struct alignas(sizeof(T) * E < 16 ? sizeof(T) * E : 16) Vec {
  T v[E];
};

using vec::from_float;
using vec::to_float;

// E consecutive elements at p (aligned to the vector size) as floats, and back
template <int E, class T>
__device__ __forceinline__ void load(float (&o)[E], const T* p) {
  const Vec<T, E> w = *reinterpret_cast<const Vec<T, E>*>(p);
#pragma unroll
  for (int j = 0; j < E; ++j) o[j] = to_float(w.v[j]);
}
template <int E, class T>
__device__ __forceinline__ void store(T* p, const float (&o)[E]) {
  Vec<T, E> w;
#pragma unroll
  for (int j = 0; j < E; ++j) w.v[j] = from_float<T>(o[j]);
  *reinterpret_cast<Vec<T, E>*>(p) = w;
}

// rows batched per group of loads: 32 floats of registers per batch whatever E is
template <int E>
struct Group {
  static constexpr int kRows = E == 1 ? 8 : 32 / E;
};

// grid (rows, channel slices)
template <class T, int E>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(T* __restrict__ out, const int32_t* __restrict__ tokens,
                   const T* __restrict__ wte, const T* __restrict__ wpe, int Tn, int C,
                   int pos_offset) {
  const int cv = blockIdx.y * kThreads + threadIdx.x;
  if (cv * E >= C) return;
  const int64_t r = blockIdx.x;
  float e[E];
  load<E>(e, wte + int64_t(tokens[r]) * C + cv * E);
  if (wpe) {
    float p[E];
    load<E>(p, wpe + (r % Tn + pos_offset) * int64_t(C) + cv * E);
#pragma unroll
    for (int j = 0; j < E; ++j) e[j] += p[j];
  }
  store<E>(out + r * C + cv * E, e);
}

__global__ void iota_kernel(int32_t* __restrict__ v, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v[i] = i;
}

// Step 2. grid (tiles, channel slices). keys/rows: the sorted tokens and their row indices.
// partial: [2, tiles, C] fp32. partial[0][k]: the rows of tile k's first run when that run began
// in an earlier tile (head); partial[1][k]: dwte[v] + the rows of tile k's last run when that run
// goes on into tile k + 1 (tail).
template <class T, class G, int E>
__global__ void __launch_bounds__(kThreads)
    tile_kernel(G* __restrict__ dwte, float* __restrict__ partial, const T* __restrict__ dout,
                const int32_t* __restrict__ keys, const int32_t* __restrict__ rows, int N,
                int C) {
  static_assert(kThreads >= kTile, "one thread loads each tile position");
  constexpr int R = Group<E>::kRows;
  __shared__ int32_t key_s[kTile], row_s[kTile];
  const int p0 = blockIdx.x * kTile, len = min(kTile, N - p0);
  if (int(threadIdx.x) < len) {
    key_s[threadIdx.x] = keys[p0 + threadIdx.x];
    row_s[threadIdx.x] = rows[p0 + threadIdx.x];
  }
  __syncthreads();
  const int cv = blockIdx.y * kThreads + threadIdx.x;
  if (cv * E >= C) return;
  const int c0 = cv * E;
  // the tile's first run began in an earlier tile; its last run goes on into the next tile
  const bool head = p0 > 0 && keys[p0 - 1] == key_s[0];
  const bool tail = p0 + len < N && keys[p0 + len] == key_s[len - 1];
  const int tiles = gridDim.x;
  float acc[E] = {};  // set at each run's first row; initialised for the compiler's benefit
  for (int i0 = 0; i0 < len; i0 += R) {
    float x[R][E], w[R][E];
#pragma unroll
    for (int u = 0; u < R; ++u) {
      const int j = i0 + u;
      if (j >= len) break;
      load<E>(x[u], dout + int64_t(row_s[j]) * C + c0);
      const bool starts = j == 0 || key_s[j] != key_s[j - 1];
      if (starts && !(j == 0 && head)) load<E>(w[u], dwte + int64_t(key_s[j]) * C + c0);
    }
#pragma unroll
    for (int u = 0; u < R; ++u) {
      const int j = i0 + u;
      if (j >= len) break;
      if (j == 0 || key_s[j] != key_s[j - 1]) {
        const bool piece = j == 0 && head;
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] = piece ? x[u][e] : w[u][e] + x[u][e];
      } else {
#pragma unroll
        for (int e = 0; e < E; ++e) acc[e] += x[u][e];
      }
      if (j == len - 1 || key_s[j] != key_s[j + 1]) {
        if (head && key_s[j] == key_s[0]) {
          store<E>(partial + int64_t(blockIdx.x) * C + c0, acc);
        } else if (tail && j == len - 1) {
          store<E>(partial + (int64_t(tiles) + blockIdx.x) * C + c0, acc);
        } else {
          store<E>(dwte + int64_t(key_s[j]) * C + c0, acc);
        }
      }
    }
  }
}

// Step 3. grid (tiles, channel slices). Tile k whose first run started in tile k - 1 writes
// dwte[v] = tail partial of tile k - 1 + head partials of tiles k, k + 1, ... while the run lasts.
template <class G, int E>
__global__ void __launch_bounds__(kThreads)
    combine_kernel(G* __restrict__ dwte, const float* __restrict__ partial,
                   const int32_t* __restrict__ keys, int N, int C) {
  constexpr int R = Group<E>::kRows;
  const int k = blockIdx.x, tiles = gridDim.x;
  if (k == 0) return;
  const int32_t v = keys[k * kTile];
  const bool head = keys[k * kTile - 1] == v;
  const bool run_began_in_prev = k == 1 || keys[(k - 1) * kTile - 1] != v;
  if (!head || !run_began_in_prev) return;
  const int cv = blockIdx.y * kThreads + threadIdx.x;
  if (cv * E >= C) return;
  const int c0 = cv * E;
  // the run ends at the first key above v (binary search: ~log2 N dependent loads where a
  // scan would take one per tile); its head partials are those of the tiles beginning before
  int lo = k * kTile, hi = N;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (keys[mid] > v) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  const int end = (lo + kTile - 1) / kTile;
  float acc[E];
  load<E>(acc, partial + (int64_t(tiles) + k - 1) * C + c0);
  for (int j0 = k; j0 < end; j0 += R) {
    float x[R][E];
#pragma unroll
    for (int u = 0; u < R; ++u) {
      if (j0 + u < end) load<E>(x[u], partial + int64_t(j0 + u) * C + c0);
    }
#pragma unroll
    for (int u = 0; u < R; ++u) {
      if (j0 + u >= end) break;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[e] += x[u][e];
    }
  }
  store<E>(dwte + int64_t(v) * C + c0, acc);
}

// grid (positions, channel slices): dwpe[t + pos_offset] += dout[b, t] for b = 0, 1, ...
template <class T, class G, int E>
__global__ void __launch_bounds__(kThreads)
    position_kernel(G* __restrict__ dwpe, const T* __restrict__ dout, int B, int Tn, int C,
                    int pos_offset) {
  constexpr int R = Group<E>::kRows;
  const int cv = blockIdx.y * kThreads + threadIdx.x;
  if (cv * E >= C) return;
  const int t = blockIdx.x, c0 = cv * E;
  G* dst = dwpe + int64_t(t + pos_offset) * C + c0;
  float acc[E];
  load<E>(acc, dst);
  for (int b0 = 0; b0 < B; b0 += R) {
    float x[R][E];
#pragma unroll
    for (int u = 0; u < R; ++u) {
      if (b0 + u < B) load<E>(x[u], dout + (int64_t(b0 + u) * Tn + t) * C + c0);
    }
#pragma unroll
    for (int u = 0; u < R; ++u) {
      if (b0 + u >= B) break;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[e] += x[u][e];
    }
  }
  store<E>(dst, acc);
}

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

size_t sort_temp_bytes(int N) {
  size_t bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int32_t*>(nullptr),
                                             static_cast<int32_t*>(nullptr),
                                             static_cast<const int32_t*>(nullptr),
                                             static_cast<int32_t*>(nullptr), N));
  return bytes;
}

// carve the scratch into its parts; returns the total size (layout only when base is non-null)
struct Scratch {
  int32_t *keys = nullptr, *rows_in = nullptr, *rows = nullptr;
  float* partial = nullptr;
  void* sort_temp = nullptr;
  size_t sort_bytes = 0;
};
size_t layout(Scratch* s, char* base, int N, int C) {
  const int tiles = (N + kTile - 1) / kTile;
  const size_t ints = align_up(size_t(N) * sizeof(int32_t));
  const size_t part = align_up(2 * size_t(tiles) * size_t(C) * sizeof(float));
  const size_t sort_bytes = sort_temp_bytes(N);
  if (base) {
    s->keys = reinterpret_cast<int32_t*>(base);
    s->rows_in = reinterpret_cast<int32_t*>(base + ints);
    s->rows = reinterpret_cast<int32_t*>(base + 2 * ints);
    s->partial = reinterpret_cast<float*>(base + 3 * ints);
    s->sort_temp = base + 3 * ints + part;
    s->sort_bytes = sort_bytes;
  }
  return 3 * ints + part + sort_bytes;
}

// 16-byte vectors when C and every pointer allow it
template <class T>
bool vectorizable(int C, std::initializer_list<const void*> ptrs) {
  if (C % (16 / sizeof(T)) != 0) return false;
  for (const void* p : ptrs) {
    if (p && reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  }
  return true;
}

dim3 grid2(int x, int C, int E) {
  const int cv = (C / E + kThreads - 1) / kThreads;
  if (cv > 65535) throw std::runtime_error("embedding: C = " + std::to_string(C) + " too large");
  return dim3(static_cast<unsigned>(x), static_cast<unsigned>(cv));
}

template <class T, class G, int E>
void backward_impl(G* dwte, G* dwpe, const T* dout, int B, int Tn, int C, int pos_offset,
                   const Scratch& s, cudaStream_t stream) {
  const int N = B * Tn, tiles = (N + kTile - 1) / kTile;
  tile_kernel<T, G, E><<<grid2(tiles, C, E), kThreads, 0, stream>>>(dwte, s.partial, dout,
                                                                     s.keys, s.rows, N, C);
  CUDA_CHECK(cudaGetLastError());
  if (tiles > 1) {
    combine_kernel<G, E><<<grid2(tiles, C, E), kThreads, 0, stream>>>(dwte, s.partial, s.keys,
                                                                       N, C);
    CUDA_CHECK(cudaGetLastError());
  }
  if (dwpe) {
    position_kernel<T, G, E><<<grid2(Tn, C, E), kThreads, 0, stream>>>(dwpe, dout, B, Tn, C,
                                                                        pos_offset);
    CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

size_t embedding_backward_scratch_bytes(int B, int Tn, int C) {
  return layout(nullptr, nullptr, B * Tn, C);
}

template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, int pos_offset, cudaStream_t stream) {
  const int rows = B * Tn;
  if (rows <= 0 || C <= 0) return;
  constexpr int E = 16 / sizeof(T);
  if (vectorizable<T>(C, {out, wte, wpe})) {
    forward_kernel<T, E><<<grid2(rows, C, E), kThreads, 0, stream>>>(out, tokens, wte, wpe, Tn, C,
                                                                      pos_offset);
  } else {
    forward_kernel<T, 1><<<grid2(rows, C, 1), kThreads, 0, stream>>>(out, tokens, wte, wpe, Tn, C,
                                                                      pos_offset);
  }
  CUDA_CHECK(cudaGetLastError());
}

template <class T, class G>
void embedding_backward(G* dwte, G* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, int pos_offset, cudaStream_t stream, void* scratch) {
  static_assert(std::is_same<G, T>::value || std::is_same<G, float>::value,
                "gradients are T or fp32");
  const int N = B * Tn;
  if (N <= 0 || C <= 0) return;
  const size_t bytes = layout(nullptr, nullptr, N, C);
  const bool own = scratch == nullptr;
  if (own) CUDA_CHECK(cudaMallocAsync(&scratch, bytes, stream));
  Scratch s;
  layout(&s, static_cast<char*>(scratch), N, C);

  iota_kernel<<<std::min((N + 255) / 256, 1024), 256, 0, stream>>>(s.rows_in, N);
  CUDA_CHECK(cudaGetLastError());
  size_t sort_bytes = s.sort_bytes;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(s.sort_temp, sort_bytes, tokens, s.keys, s.rows_in,
                                             s.rows, N, 0, 32, stream));
  constexpr int E = 16 / sizeof(T);
  if (vectorizable<T>(C, {dwte, dwpe, dout})) {
    backward_impl<T, G, E>(dwte, dwpe, dout, B, Tn, C, pos_offset, s, stream);
  } else {
    backward_impl<T, G, 1>(dwte, dwpe, dout, B, Tn, C, pos_offset, s, stream);
  }
  if (own) CUDA_CHECK(cudaFreeAsync(scratch, stream));
}

template void embedding_forward<float>(float*, const int32_t*, const float*, const float*, int,
                                       int, int, int, cudaStream_t);
template void embedding_forward<__nv_bfloat16>(__nv_bfloat16*, const int32_t*,
                                               const __nv_bfloat16*, const __nv_bfloat16*, int,
                                               int, int, int, cudaStream_t);
template void embedding_backward<float, float>(float*, float*, const float*, const int32_t*, int,
                                               int, int, int, cudaStream_t, void*);
template void embedding_backward<__nv_bfloat16, __nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*,
                                                               const __nv_bfloat16*,
                                                               const int32_t*, int, int, int, int,
                                                               cudaStream_t, void*);
template void embedding_backward<__nv_bfloat16, float>(float*, float*, const __nv_bfloat16*,
                                                       const int32_t*, int, int, int, int,
                                                       cudaStream_t, void*);

}  // namespace merino::cuda

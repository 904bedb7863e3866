// nvcuda::wmma for the CPU emulation (included by merino_emu.h): the m16n16k16 shape with bf16
// A / B fragments and fp32 accumulators, what kernels/cuda/attention.cu uses.
//
// A fragment is held as on a device, spread over the warp: lane l owns the 8 elements at flat
// (row-major) tile indices l, l + 32, ..., l + 224 -- lane l holds column l % 16 of rows
// 2e + l / 16. load_matrix_sync, store_matrix_sync and fill_fragment touch only the calling lane's
// elements, at the moment that lane runs them, so a missing __syncwarp between plain stores and
// a fragment load (or a fragment store and plain loads) by other lanes of the warp reads stale or
// garbage values. mma_sync is a warp collective (warp_collective): it gathers the whole tiles
// from the 32 lanes, computes D = A B + C in fp32 (the products of bf16 are exact in fp32; the
// sums in k order) and hands each lane its elements of D. Pointer (32-byte) and leading-
// dimension (16-byte multiple) requirements are checked.
#pragma once

namespace nvcuda {
namespace wmma {

struct row_major {};
struct col_major {};
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
  static_assert(M == 16 && N == 16 && K == 16, "the emulation has the m16n16k16 shape only");
  static_assert(std::is_same<Use, accumulator>::value ? std::is_same<T, float>::value
                                                      : std::is_same<T, __nv_bfloat16>::value,
                "the emulation has bf16 A / B and fp32 accumulator fragments only");

 public:
  static constexpr int num_elements = 8;
  using element_type = T;
  T x[num_elements];
};

namespace detail {

constexpr int kLanes = 32;

// (row, col) in the 16 x 16 tile of element e of the calling lane
inline int owned_index(int e) { return e * kLanes + static_cast<int>(::merino_emu::here().lane); }
inline int owned_row(int e) { return owned_index(e) / 16; }
inline int owned_col(int e) { return owned_index(e) % 16; }

inline void check_access(const void* p, unsigned ldm, unsigned elem_bytes, const char* what) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0) {
    ::merino_emu::fail("wmma::%s: pointer %p is not 256-bit aligned", what, p);
  }
  if (ldm * elem_bytes % 16 != 0) {
    ::merino_emu::fail("wmma::%s: ldm %u is not a multiple of 16 bytes", what, ldm);
  }
}

inline float widen(float x) { return x; }
inline float widen(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class Layout>
constexpr bool is_col_major() {
  static_assert(std::is_same<Layout, row_major>::value || std::is_same<Layout, col_major>::value,
                "A / B fragments need a row_major or col_major layout");
  return std::is_same<Layout, col_major>::value;
}

}  // namespace detail

template <class Use, class T, class Layout>
void fill_fragment(fragment<Use, 16, 16, 16, T, Layout>& f, float v) {
  for (int e = 0; e < 8; ++e) f.x[e] = static_cast<T>(v);
}

// A (m, k) or B (k, n) tile: element (r, c) of the tile at p[r * ldm + c] (row_major) or
// p[c * ldm + r] (col_major).
template <class Use, class Layout>
void load_matrix_sync(fragment<Use, 16, 16, 16, __nv_bfloat16, Layout>& f,
                      const __nv_bfloat16* p, unsigned ldm) {
  detail::check_access(p, ldm, 2, "load_matrix_sync");
  constexpr bool col = detail::is_col_major<Layout>();
  for (int e = 0; e < 8; ++e) {
    const int r = detail::owned_row(e), c = detail::owned_col(e);
    f.x[e] = col ? p[size_t(c) * ldm + r] : p[size_t(r) * ldm + c];
  }
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p,
                             unsigned ldm, layout_t layout) {
  detail::check_access(p, ldm, 4, "load_matrix_sync");
  for (int e = 0; e < 8; ++e) {
    const int r = detail::owned_row(e), c = detail::owned_col(e);
    f.x[e] = layout == mem_col_major ? p[size_t(c) * ldm + r] : p[size_t(r) * ldm + c];
  }
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f,
                              unsigned ldm, layout_t layout) {
  detail::check_access(p, ldm, 4, "store_matrix_sync");
  for (int e = 0; e < 8; ++e) {
    const int r = detail::owned_row(e), c = detail::owned_col(e);
    (layout == mem_col_major ? p[size_t(c) * ldm + r] : p[size_t(r) * ldm + c]) = f.x[e];
  }
}

namespace detail {
struct MmaSlot {
  float* d;
  const __nv_bfloat16* a;
  const __nv_bfloat16* b;
  const float* c;
};
}  // namespace detail

template <class LayoutA, class LayoutB>
void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
              const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LayoutA>& a,
              const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LayoutB>& b,
              const fragment<accumulator, 16, 16, 16, float>& c) {
  detail::MmaSlot slot{d.x, a.x, b.x, c.x};
  ::merino_emu::warp_collective(0xffffffffu, &slot, [](void* const* all) {
    float A[16][16], B[16][16], C[16][16];
    for (int l = 0; l < detail::kLanes; ++l) {
      const auto* s = static_cast<const detail::MmaSlot*>(all[l]);
      for (int e = 0; e < 8; ++e) {
        const int f = e * detail::kLanes + l;
        A[f / 16][f % 16] = detail::widen(s->a[e]);
        B[f / 16][f % 16] = detail::widen(s->b[e]);
        C[f / 16][f % 16] = s->c[e];  // read every C before any D is written: d may be c
      }
    }
    for (int l = 0; l < detail::kLanes; ++l) {
      auto* s = static_cast<const detail::MmaSlot*>(all[l]);
      for (int e = 0; e < 8; ++e) {
        const int f = e * detail::kLanes + l, i = f / 16, j = f % 16;
        float acc = C[i][j];
        for (int k = 0; k < 16; ++k) acc += A[i][k] * B[k][j];
        s->d[e] = acc;
      }
    }
  });
}

}  // namespace wmma
}  // namespace nvcuda

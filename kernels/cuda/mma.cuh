// Warp-level tensor-core and asynchronous-copy primitives (sm_80+): thin wrappers over PTX
// `mma.sync`, `ldmatrix` and `cp.async`, each with the fragment layout it implements, as given by
// the NVIDIA PTX ISA ("Warp-level matrix fragments for mma.m16n8k16" with .bf16, "ldmatrix",
// "cp.async").
//
// Notation: lane = threadIdx.x % 32, g = lane / 4 ("groupID"), t = lane % 4
// ("threadID_in_group"). A uint32_t fragment register holds two bf16, the lower column (or row,
// where stated) in its low 16 bits.
//
// Under MERINO_CUDA_EMU (the CPU emulation of the CUDA execution model, where inline asm does
// not compile) every wrapper is written instead with the emulator's warp collective (a gather of
// every lane's registers), __syncwarp and plain loads / stores, derived from the same ISA text and independently of the asm, so that a kernel
// indexing a fragment wrongly produces wrong numbers there too. All 32 lanes must call every
// wrapper together (as the PTX instructions require).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace merino::cuda::mma {

// Two floats as one bf16x2 register (round to nearest even): `lo` in the low half.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

#ifndef MERINO_CUDA_EMU

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// D = A B + C, A 16x16 (row-major), B 16x8 (column-major), bf16 in, fp32 accumulate; c is
// both C and D. Fragments:
//   a[0]: A[g][2t, 2t+1]    a[1]: A[g+8][2t, 2t+1]    a[2]: A[g][2t+8, 2t+9]
//   a[3]: A[g+8][2t+8, 2t+9]
//   b[0]: B[2t, 2t+1][g]    b[1]: B[2t+8, 2t+9][g]     (two k rows of column g)
//   c[0], c[1]: C[g][2t], C[g][2t+1]    c[2], c[3]: C[g+8][2t], C[g+8][2t+1]
// The accumulator of two adjacent 16x8 tiles, packed to bf16, is therefore exactly the A
// fragment of the 16x16 tile they form: a[0] = tile0 c[0..1], a[1] = tile0 c[2..3],
// a[2] = tile1 c[0..1], a[3] = tile1 c[2..3] (FlashAttention-2's P V without shared memory).
__device__ __forceinline__ void mma_m16n8k16_bf16(float c[4], const uint32_t a[4],
                                                  const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ldmatrix.x4 (b16): four 8x8 matrices M0..M3 from shared memory; lanes 8i .. 8i+7 pass the
// addresses of rows 0..7 of M_i (each row 16 contiguous bytes, 16-byte aligned). Afterwards
// r[i] holds M_i[g][2t, 2t+1].
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

// ldmatrix.x2: M0, M1 from the addresses of lanes 0..15 (those of lanes 16..31 are ignored
// but must be valid shared addresses); r[i] = M_i[g][2t, 2t+1].
__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_addr(row)));
}

// ldmatrix.x4.trans: as ldmatrix_x4, each matrix transposed on the way: r[i] holds
// M_i[2t][g] (low half) and M_i[2t+1][g] (high half).
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

// 16 bytes global -> shared without passing through registers (cp.async.cg: cached in L2
// only); both addresses 16-byte aligned. Visible to the block after cp_async_wait and a barrier.
__device__ __forceinline__ void cp_async_16(void* dst_shared, const void* src_global) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst_shared)),
               "l"(src_global));
}

// Closes the group of this thread's cp.async issued since the last commit.
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most N of this thread's committed groups are still in flight. The "memory"
// clobber keeps the compiler from moving shared-memory accesses across it.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

#else  // MERINO_CUDA_EMU: the same contracts with shuffles and plain memory accesses

namespace emu_detail {

constexpr unsigned kAll = 0xffffffffu;

__device__ __forceinline__ float bf16_lo(uint32_t v) {
  return __uint_as_float(v << 16);
}
__device__ __forceinline__ float bf16_hi(uint32_t v) {
  return __uint_as_float(v & 0xffff0000u);
}

// Every lane's `mine`, in lane order: what 32 rounds of __shfl_sync would give each lane, as one
// warp collective of the emulator (tests/emu: merino_emu.h is force-included in its builds), so
// an emulated mma costs one rendezvous of the warp's fibers instead of 192.
template <class T>
__device__ __forceinline__ void gather_lanes(const T& mine, T (&all)[32]) {
  struct Slot {
    T value;
    T* out;
  };
  Slot slot{mine, all};
  merino_emu::warp_collective(kAll, &slot, [](void* const* lanes) {
    for (int dst = 0; dst < 32; ++dst)
      for (int src = 0; src < 32; ++src)
        static_cast<Slot*>(lanes[dst])->out[src] = static_cast<Slot*>(lanes[src])->value;
  });
}

// Every lane's row address.
__device__ __forceinline__ void gather_rows(const void* row, const unsigned char* (&rows)[32]) {
  gather_lanes(static_cast<const unsigned char*>(row), rows);
}

__device__ __forceinline__ uint16_t load_u16(const unsigned char* p) {
  return *reinterpret_cast<const uint16_t*>(p);
}

}  // namespace emu_detail

// Every lane rebuilds the whole 16x16 A and 16x8 B from the 32 lanes' fragments (layouts as
// documented on the asm version above) and computes its own four outputs, summing k in order.
__device__ __forceinline__ void mma_m16n8k16_bf16(float c[4], const uint32_t a[4],
                                                  const uint32_t b[2]) {
  using namespace emu_detail;
  struct Fragments {
    uint32_t a[4], b[2];
  };
  Fragments mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}}, all[32];
  gather_lanes(mine, all);
  float A[16][16], B[16][8];
  for (int src = 0; src < 32; ++src) {
    const int sg = src / 4, st = src % 4;
    const uint32_t* av = all[src].a;
    const uint32_t* bv = all[src].b;
    for (int i = 0; i < 4; ++i) {
      const int row = sg + (i % 2) * 8, col = 2 * st + (i / 2) * 8;
      A[row][col] = bf16_lo(av[i]);
      A[row][col + 1] = bf16_hi(av[i]);
    }
    for (int i = 0; i < 2; ++i) {
      const int k = 2 * st + i * 8;
      B[k][sg] = bf16_lo(bv[i]);
      B[k + 1][sg] = bf16_hi(bv[i]);
    }
  }
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i / 2) * 8, col = 2 * t + i % 2;
    float s = c[i];
    for (int k = 0; k < 16; ++k) s = fmaf(A[row][k], B[k][col], s);
    c[i] = s;
  }
}

// ldmatrix .xN (N = 4 or 2 matrices): r[i] = M_i[g][2t, 2t+1], row g of M_i being at lane
// 8i + g's address, element pair t of it.
template <int N>
__device__ __forceinline__ void ldmatrix_n(uint32_t* r, const void* row) {
  using namespace emu_detail;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const unsigned char* rows[32];
  gather_rows(row, rows);
  for (int i = 0; i < N; ++i) r[i] = *reinterpret_cast<const uint32_t*>(rows[8 * i + g] + 4 * t);
  __syncwarp();
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* row) {
  ldmatrix_n<4>(r, row);
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* row) {
  ldmatrix_n<2>(r, row);
}

// r[i] = (M_i[2t][g], M_i[2t+1][g]): element g of rows 2t and 2t+1 of M_i.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* row) {
  using namespace emu_detail;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const unsigned char* rows[32];
  gather_rows(row, rows);
  for (int i = 0; i < 4; ++i) {
    const unsigned char* p0 = rows[8 * i + 2 * t];
    const unsigned char* p1 = rows[8 * i + 2 * t + 1];
    r[i] = uint32_t(load_u16(p0 + 2 * g)) | (uint32_t(load_u16(p1 + 2 * g)) << 16);
  }
  __syncwarp();
}

// A synchronous copy: the barrier that follows cp_async_wait in every kernel gives visibility.
__device__ __forceinline__ void cp_async_16(void* dst_shared, const void* src_global) {
  *reinterpret_cast<uint4*>(dst_shared) = *reinterpret_cast<const uint4*>(src_global);
}
__device__ __forceinline__ void cp_async_commit() {}
template <int N>
__device__ __forceinline__ void cp_async_wait() {}

#endif  // MERINO_CUDA_EMU

}  // namespace merino::cuda::mma

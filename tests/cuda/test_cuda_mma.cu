// The warp primitives of kernels/cuda/mma.cuh against plain matrix products computed here: one
// warp copies small bf16 matrices to shared memory with cp_async_16, reads them back as mma
// fragments with ldmatrix_x4 / ldmatrix_x2 / ldmatrix_x4_trans at the row addresses the
// documented layouts call for, multiplies with mma_m16n8k16_bf16 onto a C given in the
// documented accumulator layout, and writes D back by that layout. The inputs are small
// integers, so every product and sum is exact in fp32 and the comparison is exact: a lane or
// register taken from the wrong place changes the result by at least 1. On a GPU this checks
// the PTX wrappers; under the CPU emulation (MERINO_CUDA_EMU) it checks their shuffle fallbacks.
// Label `gpu`: SKIPPED without a device.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/mma.cuh"

namespace {

using bf16 = __nv_bfloat16;
using namespace merino::cuda::mma;

// D (16 x 16, fp32, row-major) = A (16 x 16, row-major) B + C, with B given twice: as Bt
// (n rows, k columns, read by plain ldmatrix) for columns 0..7 and as Bkn (k rows, n columns,
// read by ldmatrix .trans) for all 16 columns. Columns 0..7 of D come from the Bt path
// (ldmatrix_x2), columns 8..15 from the Bkn path (ldmatrix_x4_trans, second n tile); d_trans
// holds columns 0..7 from the Bkn path too.
__global__ void mma_kernel(float* d, float* d_trans, const bf16* a, const bf16* bt,
                           const bf16* bkn, const float* c) {
  __shared__ __align__(16) bf16 sa[16 * 16], sbt[8 * 16], sbkn[16 * 16];
  const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
  // 16-byte chunks: A and Bkn 32 each, Bt 16
  cp_async_16(sa + lane * 8, a + lane * 8);
  cp_async_16(sbkn + lane * 8, bkn + lane * 8);
  if (lane < 16) cp_async_16(sbt + lane * 8, bt + lane * 8);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  uint32_t af[4], bf[2], bt4[4];
  // A: matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
  ldmatrix_x4(af, sa + (lane % 16) * 16 + (lane / 16) * 8);
  // Bt: matrices (n 0-7, k 0-7), (n 0-7, k 8-15) from lanes 0-15
  ldmatrix_x2(bf, sbt + (lane % 8) * 16 + ((lane / 8) % 2) * 8);
  // Bkn: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
  ldmatrix_x4_trans(bt4, sbkn + (lane % 8 + ((lane / 8) % 2) * 8) * 16 + (lane / 16) * 8);

  float acc[3][4];
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
    acc[0][i] = c[row * 16 + col];
    acc[1][i] = c[row * 16 + 8 + col];
    acc[2][i] = c[row * 16 + col];
  }
  mma_m16n8k16_bf16(acc[0], af, bf);
  mma_m16n8k16_bf16(acc[1], af, bt4 + 2);
  mma_m16n8k16_bf16(acc[2], af, bt4);
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
    d[row * 16 + col] = acc[0][i];
    d[row * 16 + 8 + col] = acc[1][i];
    d_trans[row * 8 + col] = acc[2][i];
  }
}

// pack_bf16 puts its first argument in the low half.
__global__ void pack_kernel(uint32_t* out, float lo, float hi) { *out = pack_bf16(lo, hi); }

template <class T>
T* to_device(const std::vector<T>& h) {
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), h.size() * sizeof(T)));
  CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

template <class T>
std::vector<T> to_host(const T* p, size_t n) {
  std::vector<T> h(n);
  CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

TEST(CudaMma, FragmentsMatchPlainProducts) {
  std::string why;
  if (!merino::cuda::cuda_device_available(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> small(-4, 4), cval(-50, 50);
  std::vector<float> A(256), B(256), C(256);  // B: k rows x n columns
  for (auto& x : A) x = float(small(rng));
  for (auto& x : B) x = float(small(rng));
  for (auto& x : C) x = float(cval(rng));
  std::vector<bf16> a(256), bt(128), bkn(256);
  for (int i = 0; i < 256; ++i) a[i] = __float2bfloat16(A[i]);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 16; ++n) {
      bkn[k * 16 + n] = __float2bfloat16(B[k * 16 + n]);
      if (n < 8) bt[n * 16 + k] = __float2bfloat16(B[k * 16 + n]);
    }
  bf16 *da = to_device(a), *dbt = to_device(bt), *dbkn = to_device(bkn);
  float* dc = to_device(C);
  float *dd = to_device(std::vector<float>(256, -1e9f)),
        *dtr = to_device(std::vector<float>(128, -1e9f));
  mma_kernel<<<1, 32>>>(dd, dtr, da, dbt, dbkn, dc);
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> D = to_host(dd, 256), Dt = to_host(dtr, 128);
  int bad = 0;
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float want = C[r * 16 + n];
      for (int k = 0; k < 16; ++k) want += A[r * 16 + k] * B[k * 16 + n];
      if (D[r * 16 + n] != want && ++bad <= 5)
        ADD_FAILURE() << "D[" << r << "][" << n << "] = " << D[r * 16 + n] << ", want " << want
                      << (n < 8 ? " (ldmatrix_x2 path)" : " (ldmatrix_x4_trans path)");
      if (n < 8 && Dt[r * 8 + n] != want && ++bad <= 5)
        ADD_FAILURE() << "D_trans[" << r << "][" << n << "] = " << Dt[r * 8 + n] << ", want "
                      << want;
    }
  EXPECT_EQ(bad, 0);
  for (void* p : {static_cast<void*>(da), static_cast<void*>(dbt), static_cast<void*>(dbkn),
                  static_cast<void*>(dc), static_cast<void*>(dd), static_cast<void*>(dtr)})
    cudaFree(p);
}

TEST(CudaMma, PackPutsFirstValueInLowHalf) {
  std::string why;
  if (!merino::cuda::cuda_device_available(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  uint32_t* d = nullptr;
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&d), sizeof(uint32_t)));
  pack_kernel<<<1, 1>>>(d, 1.0f, -2.0f);
  CUDA_CHECK(cudaGetLastError());
  const uint32_t v = to_host(d, 1)[0];
  cudaFree(d);
  EXPECT_EQ(v & 0xffffu, 0x3f80u);  // bf16 1.0
  EXPECT_EQ(v >> 16, 0xc000u);      // bf16 -2.0
}

}  // namespace

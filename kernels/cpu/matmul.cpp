// Design: every product goes to OpenBLAS gemm, which is far faster than anything hand-written
// here; the weight layout [OC, IC] is passed as a transposed operand rather than copied. The
// bias is pre-broadcast into `out` so one gemm with beta = 1 adds it, and dweight uses beta = 1
// to accumulate in place without a temporary. The bias gradient is a column sum, parallel over
// fixed 32-column blocks (each summing all rows in order, in double) so it is independent of
// the thread count. OpenBLAS keeps its own thread pool (OPENBLAS_NUM_THREADS).
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int kChannelBlock = 32;
constexpr int64_t kParallelMin = 1 << 14;

inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                 const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha,
                 const double* A, int lda, const double* B, int ldb, double beta, double* C,
                 int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

template <class T>
void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC, int OC) {
  if (N <= 0 || OC <= 0) return;
#pragma omp parallel for schedule(static) if (int64_t(N) * OC > kParallelMin)
  for (int i = 0; i < N; ++i) {
    T* o = out + int64_t(i) * OC;
    if (bias)
      std::copy(bias, bias + OC, o);
    else
      std::fill(o, o + OC, T(0));
  }
  if (IC > 0) gemm(CblasNoTrans, CblasTrans, N, OC, IC, T(1), inp, IC, weight, IC, T(1), out, OC);
}

template <class T>
void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int N, int IC, int OC) {
  if (N <= 0 || IC <= 0 || OC <= 0) {
    if (dinp && N > 0 && IC > 0) std::fill(dinp, dinp + int64_t(N) * IC, T(0));
    return;
  }
  if (dinp)  // dinp[N, IC] = dout[N, OC] * weight[OC, IC]
    gemm(CblasNoTrans, CblasNoTrans, N, IC, OC, T(1), dout, OC, weight, IC, T(0), dinp, IC);
  // dweight[OC, IC] += dout^T[OC, N] * inp[N, IC]
  gemm(CblasTrans, CblasNoTrans, OC, IC, N, T(1), dout, OC, inp, IC, T(1), dweight, IC);
  if (!dbias) return;
  const int nblocks = (OC + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (int64_t(N) * OC > kParallelMin)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * kChannelBlock, w = std::min(OC, c0 + kChannelBlock) - c0;
    double acc[kChannelBlock] = {};
    for (int i = 0; i < N; ++i) {
      const T* d = dout + int64_t(i) * OC + c0;
#pragma omp simd
      for (int c = 0; c < w; ++c) acc[c] += double(d[c]);
    }
    for (int c = 0; c < w; ++c) dbias[c0 + c] += T(acc[c]);
  }
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int, int,
                                    int);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int, int,
                                     int);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*,
                                     const float*, int, int, int);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int, int, int);

}  // namespace merino::cpu

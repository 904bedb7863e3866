// Design: every product goes to OpenBLAS gemm, which is far faster than anything hand-written
// here; the weight layout [OC, IC] is passed as a transposed operand rather than copied. The
// bias is pre-broadcast into `out` so one gemm with beta = 1 adds it, and dweight uses beta = 1
// to accumulate in place without a temporary. The bias gradient is a column sum, parallel over
// fixed 32-column blocks (each summing all rows in order, in double) so it is independent of
// the thread count. Threads: OpenBLAS runs single-threaded and each OpenMP thread calls it on
// its own block of output rows. Two pools (OpenMP for the other kernels, OpenBLAS's pthreads for
// gemm) spin-wait against each other on a small machine; measured on 2 cores, one pool made a
// training step of configs/tiny.yaml several times faster.
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int kChannelBlock = 32;
constexpr int64_t kParallelMin = 1 << 14;

inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                      const float* A, int lda, const float* B, int ldb, float beta, float* C,
                      int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha,
                      const double* A, int lda, const double* B, int ldb, double beta, double* C,
                      int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Below this many multiply-adds a gemm runs on one thread: splitting costs more than it saves.
constexpr double kParallelGemmMin = 1 << 20;

// C[M, N] = alpha op(A) op(B) + beta C, split into contiguous blocks of C's rows, one per
// OpenMP thread. Row block [m0, m1) of C needs rows [m0, m1) of op(A): for A^T that is a column
// offset into A.
template <class T>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, T alpha, const T* A,
          int lda, const T* B, int ldb, T beta, T* C, int ldc) {
  static const bool single_threaded_blas = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)single_threaded_blas;
  const int threads = double(M) * N * K < kParallelGemmMin ? 1 : std::min(omp_get_max_threads(), M);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int m0 = int(int64_t(M) * t / n), m1 = int(int64_t(M) * (t + 1) / n);
    if (m1 > m0) {
      const T* a = ta == CblasNoTrans ? A + int64_t(m0) * lda : A + m0;
      blas_gemm(ta, tb, m1 - m0, N, K, alpha, a, lda, B, ldb, beta, C + int64_t(m0) * ldc, ldc);
    }
  }
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

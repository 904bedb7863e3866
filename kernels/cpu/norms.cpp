// Design: row statistics (mean, variance, mean square) and the two row reductions of the
// backward pass are summed in double: it costs little next to the memory traffic and keeps
// float results close to the double reference even for wide rows. Forward and the input
// gradient are parallel over rows. The weight/bias gradients reduce over rows, so they are a
// separate pass parallel over fixed 32-channel column blocks, each summing all rows in order:
// race-free and bit-identical whatever the thread count (no per-thread partial sums whose
// grouping would change with it).
#include "kernels/cpu/norms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int kChannelBlock = 32;
constexpr int64_t kParallelMin = 1 << 14;

// The column-block pass of the design note: dweight += the sum over rows of dout * xhat, with
// xhat = (x - mean) * rstd (mean null: 0, RMSNorm), and dbias (when not null) += that of dout.
template <class T>
void add_weight_grads(T* dweight, T* dbias, const T* dout, const T* inp, const T* mean,
                      const T* rstd, int N, int C, bool par) {
  const int nblocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * kChannelBlock, w = std::min(C, c0 + kChannelBlock) - c0;
    double aw[kChannelBlock] = {}, ab[kChannelBlock] = {};
    for (int i = 0; i < N; ++i) {
      const T* x = inp + int64_t(i) * C + c0;
      const T* d = dout + int64_t(i) * C + c0;
      const T m = mean ? mean[i] : T(0), r = rstd[i];
#pragma omp simd
      for (int c = 0; c < w; ++c) {
        aw[c] += double(d[c] * ((x[c] - m) * r));
        ab[c] += double(d[c]);
      }
    }
    for (int c = 0; c < w; ++c) dweight[c0 + c] += T(aw[c]);
    if (dbias)
      for (int c = 0; c < w; ++c) dbias[c0 + c] += T(ab[c]);
  }
}
}  // namespace

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int N, int C, T eps) {
#pragma omp parallel for schedule(static) if (int64_t(N) * C > kParallelMin)
  for (int i = 0; i < N; ++i) {
    const T* x = inp + int64_t(i) * C;
    T* o = out + int64_t(i) * C;
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int c = 0; c < C; ++c) s += double(x[c]);
    const double m = s / C;
    double v = 0.0;  // two-pass variance: no cancellation for rows far from zero mean
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; ++c) {
      const double d = double(x[c]) - m;
      v += d * d;
    }
    const T mt = T(m), rt = T(1.0 / std::sqrt(v / C + double(eps)));
    if (bias) {
#pragma omp simd
      for (int c = 0; c < C; ++c) o[c] = (x[c] - mt) * rt * weight[c] + bias[c];
    } else {
#pragma omp simd
      for (int c = 0; c < C; ++c) o[c] = (x[c] - mt) * rt * weight[c];
    }
    mean[i] = mt;
    rstd[i] = rt;
  }
}

template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                        const T* mean, const T* rstd, int N, int C) {
  const bool par = int64_t(N) * C > kParallelMin;
  // dinp = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * weight
#pragma omp parallel for schedule(static) if (par)
  for (int i = 0; i < N; ++i) {
    const T* x = inp + int64_t(i) * C;
    const T* d = dout + int64_t(i) * C;
    T* dx = dinp + int64_t(i) * C;
    const T m = mean[i], r = rstd[i];
    double sg = 0.0, sgx = 0.0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int c = 0; c < C; ++c) {
      const T g = d[c] * weight[c];
      sg += double(g);
      sgx += double(g * ((x[c] - m) * r));
    }
    const T mg = T(sg / C), mgx = T(sgx / C);
#pragma omp simd
    for (int c = 0; c < C; ++c) {
      const T xhat = (x[c] - m) * r;
      dx[c] += r * (d[c] * weight[c] - mg - xhat * mgx);
    }
  }
  add_weight_grads(dweight, dbias, dout, inp, mean, rstd, N, C, par);
}

template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, T eps) {
#pragma omp parallel for schedule(static) if (int64_t(N) * C > kParallelMin)
  for (int i = 0; i < N; ++i) {
    const T* x = inp + int64_t(i) * C;
    T* o = out + int64_t(i) * C;
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (int c = 0; c < C; ++c) ss += double(x[c]) * double(x[c]);
    const T rt = T(1.0 / std::sqrt(ss / C + double(eps)));
#pragma omp simd
    for (int c = 0; c < C; ++c) o[c] = x[c] * rt * weight[c];
    rstd[i] = rt;
  }
}

template <class T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int N, int C) {
  const bool par = int64_t(N) * C > kParallelMin;
  // dinp = rstd * g - x * rstd^3 * mean(g * x), g = dout * weight
#pragma omp parallel for schedule(static) if (par)
  for (int i = 0; i < N; ++i) {
    const T* x = inp + int64_t(i) * C;
    const T* d = dout + int64_t(i) * C;
    T* dx = dinp + int64_t(i) * C;
    const T r = rstd[i];
    double sgx = 0.0;
#pragma omp simd reduction(+ : sgx)
    for (int c = 0; c < C; ++c) sgx += double(d[c] * weight[c] * x[c]);
    const T k = T(double(r) * double(r) * double(r) * sgx / C);
#pragma omp simd
    for (int c = 0; c < C; ++c) dx[c] += r * d[c] * weight[c] - x[c] * k;
  }
  add_weight_grads<T>(dweight, nullptr, dout, inp, nullptr, rstd, N, C, par);
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*,
                                       const float*, int, int, float);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*,
                                        const double*, int, int, double);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, int, int);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, int, int);
template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int, int, float);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int, int,
                                      double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*,
                                      const float*, int, int);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*,
                                       const double*, const double*, int, int);

}  // namespace merino::cpu

// Design: one (batch, query head) pair is one unit of OpenMP work; within it each query row
// streams over its causal prefix of keys with hd-long dot products and axpys, contiguous loops
// the compiler vectorises (omp simd). No T x T matrix is stored: forward keeps a T-long score
// row per thread and saves only lse; backward recomputes p = exp(s - lse) from it.
// In the backward pass several query heads of a GQA group add into the same k/v gradient, so
// heads would race; with groups of one head each (plain MHA) a head writes its own k/v slots
// of dqkv directly, otherwise every head writes a private scratch slice and a second pass sums
// the slices of a group in head order. Either way no atomics, and the result does not depend
// on the thread count. The softmax denominator and lse are summed in double; the rest is in T.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace merino::cpu {

namespace {

template <class T>
inline T dot(const T* a, const T* b, int n) {
  T s = T(0);
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <class T>
inline void axpy(T* y, T a, const T* x, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

template <class T>
void attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd) {
  const int group = H / KVH;
  const int64_t C3 = int64_t(H + 2 * KVH) * hd;  // qkv row stride
  const int64_t Cq = int64_t(H) * hd;            // out row stride, also offset of the k heads
  const T scale = T(1.0 / std::sqrt(double(hd)));
  const int64_t BH = int64_t(B) * H;
#pragma omp parallel if (BH > 1 && int64_t(Tn) * Tn * hd * BH > (1 << 15))
  {
    std::vector<T> p(Tn);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < BH; ++bh) {
      const int64_t b = bh / H;
      const int h = int(bh % H), kvh = h / group;
      const T* base = qkv + b * Tn * C3;
      const T* K = base + Cq + int64_t(kvh) * hd;        // key j at K + j * C3
      const T* V = base + Cq + int64_t(KVH + kvh) * hd;  // value j at V + j * C3
      for (int t = 0; t < Tn; ++t) {
        const T* q = base + t * C3 + int64_t(h) * hd;
        T mx = -std::numeric_limits<T>::infinity();
        for (int j = 0; j <= t; ++j) {
          const T s = dot(q, K + j * C3, hd) * scale;
          p[j] = s;
          mx = std::max(mx, s);
        }
        double sum = 0.0;
        for (int j = 0; j <= t; ++j) {
          const T e = std::exp(p[j] - mx);
          p[j] = e;
          sum += double(e);
        }
        const T inv = T(1.0 / sum);
        T* o = out + (b * Tn + t) * Cq + int64_t(h) * hd;
        std::fill(o, o + hd, T(0));
        for (int j = 0; j <= t; ++j) axpy(o, p[j] * inv, V + j * C3, hd);
        lse[bh * Tn + t] = T(double(mx) + std::log(sum));
      }
    }
  }
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int B,
                        int Tn, int H, int KVH, int hd) {
  const int group = H / KVH;
  const int64_t C3 = int64_t(H + 2 * KVH) * hd;
  const int64_t Cq = int64_t(H) * hd;
  const T scale = T(1.0 / std::sqrt(double(hd)));
  const int64_t BH = int64_t(B) * H;
  const int64_t slice = int64_t(Tn) * hd;  // one head's [T, hd] gradient in the scratch
  std::unique_ptr<T[]> scratch;            // [2][B, H, T, hd]: per-head dk then dv, GQA only
  if (group > 1) scratch.reset(new T[2 * BH * slice]);
  const bool par = int64_t(Tn) * Tn * hd * BH > (1 << 15);

#pragma omp parallel if (BH > 1 && par)
  {
    std::vector<T> dq(hd);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < BH; ++bh) {
      const int64_t b = bh / H;
      const int h = int(bh % H), kvh = h / group;
      const T* base = qkv + b * Tn * C3;
      const T* K = base + Cq + int64_t(kvh) * hd;
      const T* V = base + Cq + int64_t(KVH + kvh) * hd;
      // where this head's dk / dv rows go, and their row stride
      T *dK, *dV;
      int64_t ds;
      if (group > 1) {
        dK = scratch.get() + bh * slice;
        dV = scratch.get() + (BH + bh) * slice;
        ds = hd;
      } else {
        dK = dqkv + b * Tn * C3 + Cq + int64_t(h) * hd;
        dV = dK + int64_t(KVH) * hd;
        ds = C3;
      }
      for (int t = 0; t < Tn; ++t) {
        std::fill(dK + t * ds, dK + t * ds + hd, T(0));
        std::fill(dV + t * ds, dV + t * ds + hd, T(0));
      }
      for (int t = 0; t < Tn; ++t) {
        const T* q = base + t * C3 + int64_t(h) * hd;
        const int64_t orow = (b * Tn + t) * Cq + int64_t(h) * hd;
        const T* dO = dout + orow;
        const T l = lse[bh * Tn + t];
        const T D = dot(dO, out + orow, hd);  // sum_j p_j dp_j
        std::fill(dq.begin(), dq.end(), T(0));
        for (int j = 0; j <= t; ++j) {
          const T* k = K + j * C3;
          const T p = std::exp(dot(q, k, hd) * scale - l);
          const T dsc = p * (dot(dO, V + j * C3, hd) - D);  // d loss / d score_j
          axpy(dq.data(), dsc, k, hd);
          axpy(dK + j * ds, dsc * scale, q, hd);
          axpy(dV + j * ds, p, dO, hd);
        }
        T* dqo = dqkv + (b * Tn + t) * C3 + int64_t(h) * hd;
#pragma omp simd
        for (int d = 0; d < hd; ++d) dqo[d] = dq[d] * scale;
      }
    }
  }
  if (group == 1) return;

  // sum the per-head k/v gradients of each group, heads in order
  const int64_t rows = int64_t(B) * Tn;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / Tn, t = r % Tn;
    for (int part = 0; part < 2; ++part) {  // 0: k, 1: v
      const T* src = scratch.get() + part * BH * slice;
      for (int kvh = 0; kvh < KVH; ++kvh) {
        T* dst = dqkv + r * C3 + Cq + int64_t(part * KVH + kvh) * hd;
        const int64_t h0 = b * H + int64_t(kvh) * group;
        std::copy(src + h0 * slice + t * hd, src + h0 * slice + t * hd + hd, dst);
        for (int g = 1; g < group; ++g) {
          const T* s = src + (h0 + g) * slice + t * hd;
#pragma omp simd
          for (int d = 0; d < hd; ++d) dst[d] += s[d];
        }
      }
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int, int, int, int, int);
template void attention_forward<double>(double*, double*, const double*, int, int, int, int, int);
template void attention_backward<float>(float*, const float*, const float*, const float*,
                                        const float*, int, int, int, int, int);
template void attention_backward<double>(double*, const double*, const double*, const double*,
                                         const double*, int, int, int, int, int);

}  // namespace merino::cpu

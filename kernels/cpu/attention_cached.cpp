// Design: the forward loop of attention.cpp (one (batch, query head) pair per unit of OpenMP
// work, a score row per thread, the softmax denominator summed in double) with keys and values
// read from the cache instead of the packed rows. The new k/v rows are copied into the cache
// first, in their own pass, so every head of a group reads a complete cache.
#include "kernels/cpu/attention_cached.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace merino::cpu {

template <class T>
void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq, int Tk,
                              int cap, int H, int KVH, int hd) {
  const int group = H / KVH, past = Tk - Tq;
  const int64_t C3 = int64_t(H + 2 * KVH) * hd;  // qkv row stride
  const int64_t Cq = int64_t(H) * hd;            // out row stride, also offset of the k heads
  const int64_t Ckv = int64_t(KVH) * hd;         // cache row stride
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < Tq; ++i) {
      const T* row = qkv + (int64_t(b) * Tq + i) * C3;
      const int64_t dst = (int64_t(b) * cap + past + i) * Ckv;
      std::copy(row + Cq, row + Cq + Ckv, k_cache + dst);
      std::copy(row + Cq + Ckv, row + Cq + 2 * Ckv, v_cache + dst);
    }
  const T scale = T(1.0 / std::sqrt(double(hd)));
  const int64_t BH = int64_t(B) * H;
#pragma omp parallel if (BH > 1 && int64_t(Tq) * Tk * hd * BH > (1 << 15))
  {
    std::vector<T> p(static_cast<size_t>(Tk));
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < BH; ++bh) {
      const int64_t b = bh / H;
      const int h = int(bh % H), kvh = h / group;
      const T* K = k_cache + b * cap * Ckv + int64_t(kvh) * hd;  // key j at K + j * Ckv
      const T* V = v_cache + b * cap * Ckv + int64_t(kvh) * hd;
      for (int i = 0; i < Tq; ++i) {
        const T* q = qkv + (b * Tq + i) * C3 + int64_t(h) * hd;
        const int last = past + i;
        T mx = -std::numeric_limits<T>::infinity();
        for (int j = 0; j <= last; ++j) {
          T s = T(0);
#pragma omp simd reduction(+ : s)
          for (int d = 0; d < hd; ++d) s += q[d] * K[j * Ckv + d];
          p[size_t(j)] = s * scale;
          mx = std::max(mx, p[size_t(j)]);
        }
        double sum = 0.0;
        for (int j = 0; j <= last; ++j) {
          p[size_t(j)] = std::exp(p[size_t(j)] - mx);
          sum += double(p[size_t(j)]);
        }
        const T inv = T(1.0 / sum);
        T* o = out + (b * Tq + i) * Cq + int64_t(h) * hd;
        std::fill(o, o + hd, T(0));
        for (int j = 0; j <= last; ++j) {
          const T w = p[size_t(j)] * inv;
          const T* v = V + j * Ckv;
#pragma omp simd
          for (int d = 0; d < hd; ++d) o[d] += w * v[d];
        }
      }
    }
  }
}

template void attention_cached_forward<float>(float*, float*, float*, const float*, int, int, int,
                                              int, int, int, int);
template void attention_cached_forward<double>(double*, double*, double*, const double*, int, int,
                                               int, int, int, int, int);

}  // namespace merino::cpu

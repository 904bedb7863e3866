// Design: the cos/sin table [T, hd/2] is built once per call in double (angles t * theta^(-2i/hd)
// reach ~T radians, where float argument reduction would lose digits) and rounded to T; the
// rotation itself then runs in T over rows in parallel. q and k heads are adjacent in the packed
// row, so one loop over H + KVH heads covers both and leaves v alone. Backward is the same loop
// with sin negated: the transpose of a rotation is its inverse.
#include "kernels/cpu/rope.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace merino::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;

template <class T>
void rope_rotate(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, int pos0,
                 bool inverse) {
  const int half = hd / 2;
  const int64_t C3 = int64_t(H + 2 * KVH) * hd;
  std::vector<T> cs(size_t(Tn) * half), sn(size_t(Tn) * half);
  std::vector<double> inv_freq(half);
  for (int i = 0; i < half; ++i) inv_freq[i] = std::pow(theta, -2.0 * i / hd);
  const double sign = inverse ? -1.0 : 1.0;
#pragma omp parallel for schedule(static) if (int64_t(Tn) * half > 4096)
  for (int t = 0; t < Tn; ++t) {
    for (int i = 0; i < half; ++i) {
      const double a = double(pos0 + t) * inv_freq[i];
      cs[size_t(t) * half + i] = T(std::cos(a));
      sn[size_t(t) * half + i] = T(sign * std::sin(a));
    }
  }
  const int64_t rows = int64_t(B) * Tn;
  const int heads = H + KVH;  // q heads then k heads
#pragma omp parallel for schedule(static) if (rows * heads * hd > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* c = cs.data() + (r % Tn) * half;
    const T* s = sn.data() + (r % Tn) * half;
    for (int hh = 0; hh < heads; ++hh) {
      T* x = qkv + r * C3 + int64_t(hh) * hd;
      T* y = x + half;
#pragma omp simd
      for (int i = 0; i < half; ++i) {
        const T x0 = x[i], x1 = y[i];
        x[i] = x0 * c[i] - x1 * s[i];
        y[i] = x0 * s[i] + x1 * c[i];
      }
    }
  }
}

}  // namespace

template <class T>
void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  rope_rotate(qkv, B, Tn, H, KVH, hd, theta, 0, false);
}

template <class T>
void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta, int pos0) {
  rope_rotate(qkv, B, Tn, H, KVH, hd, theta, pos0, false);
}

template <class T>
void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  rope_rotate(dqkv, B, Tn, H, KVH, hd, theta, 0, true);
}

template void rope_forward<float>(float*, int, int, int, int, int, double);
template void rope_forward<double>(double*, int, int, int, int, int, double);
template void rope_forward_at<float>(float*, int, int, int, int, int, double, int);
template void rope_forward_at<double>(double*, int, int, int, int, int, double, int);
template void rope_backward<float>(float*, int, int, int, int, int, double);
template void rope_backward<double>(double*, int, int, int, int, int, double);

}  // namespace merino::cpu

// Design: one pass per element (read grad, update both moments and the weight), the bias
// corrections hoisted out of the loop. Each element is independent, so any thread split gives
// the same bits. sum_squares splits into fixed 4096-element chunks whose partial sums are
// added in chunk order, which keeps the result independent of the thread count.
#include "kernels/cpu/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace merino::cpu {

template <class T>
void adamw_update(T* params, const T* grads, T* m, T* v, size_t n, const AdamWStep& s) {
  const T b1 = T(s.beta1), b2 = T(s.beta2), eps = T(s.eps), scale = T(s.grad_scale);
  const T lr = T(s.lr), decay = T(s.lr * s.weight_decay);
  const T inv_bc1 = T(1.0 / (1.0 - std::pow(s.beta1, double(s.step))));
  const T inv_sqrt_bc2 = T(1.0 / std::sqrt(1.0 - std::pow(s.beta2, double(s.step))));
  const int64_t len = int64_t(n);
#pragma omp parallel for simd schedule(static) if (len > (1 << 15))
  for (int64_t i = 0; i < len; ++i) {
    const T g = grads[i] * scale;
    const T mi = b1 * m[i] + (T(1) - b1) * g;
    const T vi = b2 * v[i] + (T(1) - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= lr * (mi * inv_bc1) / (std::sqrt(vi) * inv_sqrt_bc2 + eps) + decay * params[i];
  }
}

template <class T>
double sum_squares(const T* x, size_t n) {
  constexpr size_t kChunk = 4096;
  const int64_t chunks = int64_t((n + kChunk - 1) / kChunk);
  std::vector<double> partial(size_t(chunks), 0.0);
#pragma omp parallel for schedule(static) if (chunks > 8)
  for (int64_t c = 0; c < chunks; ++c) {
    const size_t begin = size_t(c) * kChunk, end = std::min(n, begin + kChunk);
    double acc = 0;
    for (size_t i = begin; i < end; ++i) acc += double(x[i]) * double(x[i]);
    partial[size_t(c)] = acc;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

template void adamw_update<float>(float*, const float*, float*, float*, size_t, const AdamWStep&);
template void adamw_update<double>(double*, const double*, double*, double*, size_t, const AdamWStep&);
template double sum_squares<float>(const float*, size_t);
template double sum_squares<double>(const double*, size_t);

}  // namespace merino::cpu

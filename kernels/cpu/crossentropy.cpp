// Design: rows are independent, so the work is parallel over rows; each row is a max pass, an
// exp-sum pass (summed in double: V is tens of thousands of terms); the fused variant keeps the
// exponentials in place during that pass and scales them into dlogits, so each logit costs one
// exp (the exps are most of this kernel's time at V = 50257). Subtracting the row max keeps exp
// finite for any logits, and the loss is lse - logit[target] rather than -log(p), which stays
// accurate when p underflows. Targets other than ignore_index must lie in [0, V).
#include "kernels/cpu/crossentropy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace merino::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;

// row max and sum_v exp(x_v - max): log-sum-exp = max + log(sum)
template <class T>
struct RowStats {
  T max;
  double sum;
};

template <class T>
RowStats<T> row_stats(const T* x, int V) {
  T mx = x[0];
  for (int v = 1; v < V; ++v) mx = std::max(mx, x[v]);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int v = 0; v < V; ++v) s += double(std::exp(x[v] - mx));
  return {mx, s};
}

}  // namespace

template <class T>
void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N, int V,
                          int ld, int32_t ignore_index) {
#pragma omp parallel for schedule(static) if (int64_t(N) * V > kParallelMin)
  for (int i = 0; i < N; ++i) {
    const T* x = logits + int64_t(i) * ld;
    if (targets[i] == ignore_index) {
      losses[i] = T(0);
      continue;
    }
    const RowStats<T> st = row_stats(x, V);
    losses[i] = T(double(st.max) + std::log(st.sum) - double(x[targets[i]]));
  }
}

template <class T>
void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N, int V,
                                   int ld, int32_t ignore_index, T dloss_scale) {
#pragma omp parallel for schedule(static) if (int64_t(N) * V > kParallelMin)
  for (int i = 0; i < N; ++i) {
    T* x = logits + int64_t(i) * ld;
    const int32_t tgt = targets[i];
    std::fill(x + V, x + ld, T(0));  // padding columns: no probability, no gradient
    if (tgt == ignore_index) {
      losses[i] = T(0);
      std::fill(x, x + V, T(0));
      continue;
    }
    // exp(x - max) is computed once and parked in x, then scaled: one exp per logit
    const T mx = *std::max_element(x, x + V);
    const T target_logit = x[tgt];
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int v = 0; v < V; ++v) {
      x[v] = std::exp(x[v] - mx);
      sum += double(x[v]);
    }
    losses[i] = T(double(mx) + std::log(sum) - double(target_logit));
    const T k = T(double(dloss_scale) / sum);
#pragma omp simd
    for (int v = 0; v < V; ++v) x[v] *= k;
    x[tgt] -= dloss_scale;
  }
}

template void crossentropy_forward<float>(float*, const float*, const int32_t*, int, int, int,
                                          int32_t);
template void crossentropy_forward<double>(double*, const double*, const int32_t*, int, int, int,
                                           int32_t);
template void crossentropy_forward_backward<float>(float*, float*, const int32_t*, int, int, int,
                                                   int32_t, float);
template void crossentropy_forward_backward<double>(double*, double*, const int32_t*, int, int,
                                                    int, int32_t, double);

}  // namespace merino::cpu

// Design: rows are independent, so the work is parallel over rows; each row is a max pass and an
// exp-sum pass (summed in double: V is tens of thousands of terms); the fused variant keeps the
// exponentials in place during that pass and scales them into dlogits, so each logit costs one
// exp. The exps are most of this kernel's time at V = 50257, so they come from
// kernels/cpu/exp_nonpositive.h, which vectorises where std::exp is a libm call per term
// (bench_cpu_crossentropy: the std::exp version measured beside it), and the row functions are
// also built for AVX2, chosen at load time. Both passes run in 8 interleaved lanes: the sum's
// order is fixed, so a row gives the same bits with or without AVX2. Subtracting the row max
// keeps exp finite for any logits, and the loss is lse - logit[target] rather than -log(p),
// which stays accurate when p underflows. Targets other than ignore_index must lie in [0, V).
#include "kernels/cpu/crossentropy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/exp_nonpositive.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define MERINO_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MERINO_AVX2_CLONES
#endif

namespace merino::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;
constexpr int kLanes = 8;

// the row's largest value, lane by lane (a maximum does not depend on the order)
template <class T>
inline T row_max(const T* x, int V) {
  T lane[kLanes];
  std::fill(lane, lane + kLanes, x[0]);
  const int body = V - V % kLanes;
  for (int v = 0; v < body; v += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = x[v + l] > lane[l] ? x[v + l] : lane[l];
  T mx = *std::max_element(lane, lane + kLanes);
  for (int v = body; v < V; ++v) mx = std::max(mx, x[v]);
  return mx;
}

// sum_v e^(x_v - mx) in kLanes double partial sums; Park: e^(x_v - mx) also replaces x_v
template <bool Park, class T>
inline double exp_sum(std::conditional_t<Park, T*, const T*> x, int V, T mx) {
  double lane[kLanes] = {};
  const int body = V - V % kLanes;
  for (int v = 0; v < body; v += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const T e = exp_nonpositive(T(x[v + l] - mx));
      if constexpr (Park) x[v + l] = e;
      lane[l] += double(e);
    }
  double sum = 0.0;
  for (double s : lane) sum += s;
  for (int v = body; v < V; ++v) {
    const T e = exp_nonpositive(T(x[v] - mx));
    if constexpr (Park) x[v] = e;
    sum += double(e);
  }
  return sum;
}

template <class T>
MERINO_AVX2_CLONES T row_loss(const T* x, int V, int32_t target) {
  const T mx = row_max(x, V);
  const double sum = exp_sum<false, T>(x, V, mx);
  return T(double(mx) + std::log(sum) - double(x[target]));
}

// x[0, V) becomes dloss_scale * (softmax - onehot(target)); returns the loss
template <class T>
MERINO_AVX2_CLONES T row_loss_and_gradient(T* x, int V, int32_t target, T dloss_scale) {
  const T mx = row_max(x, V);
  const T target_logit = x[target];
  const double sum = exp_sum<true, T>(x, V, mx);
  const T k = T(double(dloss_scale) / sum);
  for (int v = 0; v < V; ++v) x[v] *= k;
  x[target] -= dloss_scale;
  return T(double(mx) + std::log(sum) - double(target_logit));
}

}  // namespace

template <class T>
void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N, int V,
                          int ld, int32_t ignore_index) {
#pragma omp parallel for schedule(static) if (int64_t(N) * V > kParallelMin)
  for (int i = 0; i < N; ++i)
    losses[i] = targets[i] == ignore_index ? T(0)
                                           : row_loss(logits + int64_t(i) * ld, V, targets[i]);
}

template <class T>
void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N, int V,
                                   int ld, int32_t ignore_index, T dloss_scale) {
#pragma omp parallel for schedule(static) if (int64_t(N) * V > kParallelMin)
  for (int i = 0; i < N; ++i) {
    T* x = logits + int64_t(i) * ld;
    std::fill(x + V, x + ld, T(0));  // padding columns: no probability, no gradient
    if (targets[i] == ignore_index) {
      losses[i] = T(0);
      std::fill(x, x + V, T(0));
      continue;
    }
    losses[i] = row_loss_and_gradient(x, V, targets[i], dloss_scale);
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

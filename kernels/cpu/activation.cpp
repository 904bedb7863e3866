// Design: pointwise ops are single passes over contiguous memory, parallel (above a size
// threshold, to spare thread wake-ups on tiny tensors) and vectorisable, computed in T. GELU
// uses the identity 0.5 (1 + tanh(u)) = sigmoid(2u): one exp
// is several times cheaper than std::tanh (glibc's tanhf costs ~5 expf), the negative tail
// avoids the cancellation in 1 + tanh(u) -> 0, and exp overflow saturates correctly to 0.
// Backward re-evaluates it rather than saving it: one exp per element is cheaper than another
// activation-sized buffer.
#include "kernels/cpu/activation.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 14;
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

// sigmoid(2u) = 0.5 (1 + tanh(u)) for u = sqrt(2/pi) (x + 0.044715 x^3)
template <class T>
inline T gelu_sigmoid(T x) {
  const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
  return T(1) / (T(1) + std::exp(T(-2) * u));
}
}  // namespace

template <class T>
void gelu_forward(T* out, const T* inp, size_t n) {
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) out[i] = inp[i] * gelu_sigmoid(inp[i]);
}

template <class T>
void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  const T k = T(kSqrt2OverPi), a = T(kGeluCubic);
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) {
    // d/dx [x s(2u)] = s + 2 x s (1 - s) du/dx
    const T x = inp[i], s = gelu_sigmoid(x);
    const T du = k * (T(1) + T(3) * a * x * x);
    dinp[i] = dout[i] * (s + T(2) * x * s * (T(1) - s) * du);
  }
}

template <class T>
void relu_forward(T* out, const T* inp, size_t n) {
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) out[i] = inp[i] > T(0) ? inp[i] : T(0);
}

template <class T>
void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) dinp[i] = inp[i] > T(0) ? dout[i] : T(0);
}

template <class T>
void swiglu_forward(T* out, const T* inp, int N, int F) {
#pragma omp parallel for schedule(static) if (int64_t(N) * F > kParallelMin)
  for (int i = 0; i < N; ++i) {
    const T* g = inp + int64_t(i) * 2 * F;
    const T* u = g + F;
    T* o = out + int64_t(i) * F;
#pragma omp simd
    for (int f = 0; f < F; ++f) o[f] = g[f] / (T(1) + std::exp(-g[f])) * u[f];
  }
}

template <class T>
void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) {
#pragma omp parallel for schedule(static) if (int64_t(N) * F > kParallelMin)
  for (int i = 0; i < N; ++i) {
    const T* g = inp + int64_t(i) * 2 * F;
    const T* u = g + F;
    const T* d = dout + int64_t(i) * F;
    T* dg = dinp + int64_t(i) * 2 * F;
    T* du = dg + F;
#pragma omp simd
    for (int f = 0; f < F; ++f) {
      const T s = T(1) / (T(1) + std::exp(-g[f]));  // sigmoid(gate)
      dg[f] = d[f] * u[f] * s * (T(1) + g[f] * (T(1) - s));
      du[f] = d[f] * g[f] * s;
    }
  }
}

template void gelu_forward<float>(float*, const float*, size_t);
template void gelu_forward<double>(double*, const double*, size_t);
template void gelu_backward<float>(float*, const float*, const float*, size_t);
template void gelu_backward<double>(double*, const double*, const double*, size_t);
template void relu_forward<float>(float*, const float*, size_t);
template void relu_forward<double>(double*, const double*, size_t);
template void relu_backward<float>(float*, const float*, const float*, size_t);
template void relu_backward<double>(double*, const double*, const double*, size_t);
template void swiglu_forward<float>(float*, const float*, int, int);
template void swiglu_forward<double>(double*, const double*, int, int);
template void swiglu_backward<float>(float*, const float*, const float*, int, int);
template void swiglu_backward<double>(double*, const double*, const double*, int, int);

}  // namespace merino::cpu

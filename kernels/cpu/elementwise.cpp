// Design: plain streaming loops, parallel above a size threshold (thread wake-up costs more
// than adding a few thousand numbers) and vectorised. Each element is read and written by the
// same iteration, so out aliasing a or b is safe.
#include "kernels/cpu/elementwise.h"

#include <cstddef>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 15;
}

template <class T>
void residual_forward(T* out, const T* a, const T* b, size_t n) {
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) out[i] = a[i] + b[i];
}

template <class T>
void accumulate(T* dst, const T* src, size_t n) {
  const int64_t m = int64_t(n);
#pragma omp parallel for simd schedule(static) if (m > kParallelMin)
  for (int64_t i = 0; i < m; ++i) dst[i] += src[i];
}

template void residual_forward<float>(float*, const float*, const float*, size_t);
template void residual_forward<double>(double*, const double*, const double*, size_t);
template void accumulate<float>(float*, const float*, size_t);
template void accumulate<double>(double*, const double*, size_t);

}  // namespace merino::cpu

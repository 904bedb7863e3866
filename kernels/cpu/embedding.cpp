// Design: the forward pass is a row gather, parallel over tokens. The backward pass is a
// scatter-add; splitting it over tokens would race on repeated tokens and make the summation
// order depend on the schedule. Threads therefore own disjoint 32-channel column blocks and
// each walks all tokens in order: no atomics, no per-thread copies of the table, and the same
// bits for any thread count. 32 channels are whole cache lines, so blocks never share a line
// and the inner loop is a contiguous, vectorisable run.
#include "kernels/cpu/embedding.h"

#include <algorithm>
#include <cstdint>

namespace merino::cpu {

namespace {
constexpr int kChannelBlock = 32;
constexpr int64_t kParallelMin =
    1 << 14;  // below this many elements threads cost more than they save
}  // namespace

template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, int pos_offset) {
  const int64_t rows = int64_t(B) * Tn;
#pragma omp parallel for schedule(static) if (rows * C > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    T* o = out + r * C;
    const T* e = wte + int64_t(tokens[r]) * C;
    if (wpe) {
      const T* p = wpe + (r % Tn + pos_offset) * int64_t(C);
#pragma omp simd
      for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
    } else {
      std::copy(e, e + C, o);
    }
  }
}

template <class T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, int pos_offset) {
  const int64_t rows = int64_t(B) * Tn;
  const int nblocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static) if (rows * C > kParallelMin)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * kChannelBlock, c1 = std::min(C, c0 + kChannelBlock);
    for (int64_t r = 0; r < rows; ++r) {
      const T* d = dout + r * C;
      T* w = dwte + int64_t(tokens[r]) * C;
#pragma omp simd
      for (int c = c0; c < c1; ++c) w[c] += d[c];
      if (dwpe) {
        T* p = dwpe + (r % Tn + pos_offset) * int64_t(C);
#pragma omp simd
        for (int c = c0; c < c1; ++c) p[c] += d[c];
      }
    }
  }
}

template void embedding_forward<float>(float*, const int32_t*, const float*, const float*, int, int,
                                       int, int);
template void embedding_forward<double>(double*, const int32_t*, const double*, const double*, int,
                                        int, int, int);
template void embedding_backward<float>(float*, float*, const float*, const int32_t*, int, int, int,
                                        int);
template void embedding_backward<double>(double*, double*, const double*, const int32_t*, int, int,
                                         int, int);

}  // namespace merino::cpu

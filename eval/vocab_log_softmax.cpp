#include "eval/vocab_log_softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/exp_nonpositive.h"

namespace merino::eval {
namespace {

constexpr int kLanes = 8;

}  // namespace

// On x86 also an AVX2 build of the loops (4 doubles a vector, not SSE2's 2), chosen at load
// time where the CPU has it. Neither enables FMA, so both round alike: the same bits anywhere.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
RowLogSoftmax row_log_softmax(const float* logits, int V) {
  RowLogSoftmax out;
  // the largest value in lanes (vectorisable), then its first index
  float lane_max[kLanes];
  std::fill(lane_max, lane_max + kLanes, logits[0]);
  const int body = V - V % kLanes;
  for (int v = 0; v < body; v += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float x = logits[v + l];
      lane_max[l] = x > lane_max[l] ? x : lane_max[l];
    }
  float max = *std::max_element(lane_max, lane_max + kLanes);
  for (int v = body; v < V; ++v) max = std::max(max, logits[v]);
  out.argmax = int(std::find(logits, logits + V, max) - logits);
  out.max = max;

  double lane_sum[kLanes] = {};
  for (int v = 0; v < body; v += kLanes)
    for (int l = 0; l < kLanes; ++l) lane_sum[l] += exp_nonpositive(double(logits[v + l]) - out.max);
  double sum = 0;
  for (double s : lane_sum) sum += s;
  for (int v = body; v < V; ++v) sum += exp_nonpositive(double(logits[v]) - out.max);
  out.log_sum_exp = std::log(sum);
  return out;
}

}  // namespace merino::eval

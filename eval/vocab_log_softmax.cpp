#include "eval/vocab_log_softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace merino::eval {
namespace {

constexpr int kLanes = 8;

inline double exp_le0(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  // adding 1.5 * 2^52 rounds to an integer, which then sits in the low mantissa bits
  constexpr double kRound = 0x1.8p52;
  constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;  // 43 significant bits: n * kLn2Hi is exact
  constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
  x = x < -708.0 ? -708.0 : x;
  const double k = x * kLog2e + kRound;
  const double n = k - kRound;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;
  // e^r, |r| <= 0.3466: Taylor terms to r^13 / 13!, Horner from the smallest
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // k's low bits hold n (two's complement): shifted into the exponent field and biased they
  // make 2^n, a normal double for n >= -1022 (x >= -708 gives n >= -1022)
  uint64_t bits;
  std::memcpy(&bits, &k, sizeof bits);
  bits = (bits << 52) + (uint64_t(1023) << 52);
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace

double exp_nonpositive(double x) { return exp_le0(x); }

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
    for (int l = 0; l < kLanes; ++l) lane_sum[l] += exp_le0(double(logits[v + l]) - out.max);
  double sum = 0;
  for (double s : lane_sum) sum += s;
  for (int v = body; v < V; ++v) sum += exp_le0(double(logits[v]) - out.max);
  out.log_sum_exp = std::log(sum);
  return out;
}

}  // namespace merino::eval

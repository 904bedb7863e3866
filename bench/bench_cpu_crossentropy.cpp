// The fused softmax cross-entropy of a CPU training step (kernels/cpu/crossentropy.h) at the
// shape of configs/tiny.yaml's step (8 x 128 rows of GPT-2's 50,257 logits), one thread, against
// the previous variant measured in the same run: the same passes with std::exp, a libm call per
// logit. Prints `ratio` = previous time / this time (above 1: faster), and the bytes moved per
// second (the rows are 206 MB, read by the max pass and read and written by two more, so the
// kernel is bound by memory once the exps are cheap).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/crossentropy.h"

namespace {

constexpr int kRows = 8 * 128, kVocab = 50257;

// The kernel before exp_nonpositive: per row max, exp-sum in double with std::exp parked in
// place, scale.
void previous_variant(float* logits, float* losses, const int32_t* targets, float dloss_scale) {
  for (int i = 0; i < kRows; ++i) {
    float* x = logits + int64_t(i) * kVocab;
    const float mx = *std::max_element(x, x + kVocab);
    const float target_logit = x[targets[i]];
    double sum = 0.0;
    for (int v = 0; v < kVocab; ++v) {
      x[v] = std::exp(x[v] - mx);
      sum += double(x[v]);
    }
    losses[i] = float(double(mx) + std::log(sum) - double(target_logit));
    const float k = float(double(dloss_scale) / sum);
    for (int v = 0; v < kVocab; ++v) x[v] *= k;
    x[targets[i]] -= dloss_scale;
  }
}

struct Inputs {
  std::vector<float> logits, work, losses;
  std::vector<int32_t> targets;
  Inputs() : logits(size_t(kRows) * kVocab), work(logits.size()), losses(kRows), targets(kRows) {
    std::mt19937 rng(1);
    std::normal_distribution<float> logit(0.0f, 2.0f);
    for (float& x : logits) x = logit(rng);
    for (int32_t& t : targets) t = int32_t(rng() % kVocab);
  }
};

template <class Run>
double seconds_per_call(Inputs& in, Run run, int reps) {
  double total = 0;
  for (int r = 0; r < reps; ++r) {
    std::copy(in.logits.begin(), in.logits.end(), in.work.begin());  // untimed: fresh logits
    const auto t0 = std::chrono::steady_clock::now();
    run();
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return total / reps;
}

void BM_CrossEntropyForwardBackward(benchmark::State& state) {
  omp_set_num_threads(1);
  static Inputs in;
  const double previous = seconds_per_call(in, [&] {
    previous_variant(in.work.data(), in.losses.data(), in.targets.data(), 1.0f / kRows);
  }, 3);
  double seconds = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(in.logits.begin(), in.logits.end(), in.work.begin());
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    merino::cpu::crossentropy_forward_backward(in.work.data(), in.losses.data(),
                                               in.targets.data(), kRows, kVocab, kVocab, -100,
                                               1.0f / kRows);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++calls;
  }
  const double now = seconds / double(calls);
  state.counters["previous_ms"] = previous * 1e3;
  state.counters["ratio"] = previous / now;
  state.counters["GB/s"] = 5.0 * sizeof(float) * kRows * kVocab / now * 1e-9;
}
BENCHMARK(BM_CrossEntropyForwardBackward)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();

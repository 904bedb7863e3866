// bench/timing_backend.h forwards every op to the backend it wraps: a model trained through the
// decorator (not recording, so no device is needed) on the CPU backend gives bit for bit the
// losses, gradients, master weights and working copy of the same model on a CPU backend of its
// own, for every model family (each calls a different set of ops: LayerNorm or RMSNorm, GELU
// fused into the matmul or not, SwiGLU, ReLU, RoPE, GQA, width projections), in fp32 and in
// emulated bf16 (AdamW's stochastic rounding, narrow). A swapped or dropped argument in any
// forwarding method changes these numbers. The recording path (CUDA events) runs only on a GPU,
// in bench_cuda_model --op_breakdown.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bench/timing_backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "tests/model/model_test_util.h"

namespace {

using merino::bf16;

float to_f(float x) { return x; }
float to_f(bf16 x) { return merino::to_float(x); }

// the losses of three clipped AdamW steps, and the gradients, masters and working copy left
struct Trajectory {
  std::vector<double> losses;
  std::vector<float> grads, master, working;
};

template <class T>
Trajectory train(const merino::ModelConfig& cfg, merino::Backend<T>& be) {
  using A = merino::acc_t<T>;
  const int B = 2, Tn = cfg.context_length;
  merino::Model<T> model(cfg, be);
  model.init_weights(7);
  const size_t n = model.num_params();
  A* m = be.alloc_acc(n);
  A* v = be.alloc_acc(n);
  merino::AdamWStep step;
  step.lr = 1e-2;
  step.weight_decay = 0.1;
  step.round_seed = 3;
  Trajectory t;
  for (int s = 0; s < 3; ++s) {
    const auto tokens = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 10 + s);
    const auto targets = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 20 + s);
    model.zero_grads();
    t.losses.push_back(model.forward_backward(tokens.data(), targets.data(), B, Tn));
    step.grad_scale = 1.0 / std::max(1.0, std::sqrt(be.sum_squares(model.grads(), n)));
    ++step.step;
    be.adamw_update(model.master(), merino::kMixedPrecision<T> ? model.params() : nullptr,
                    model.grads(), m, v, n, step, 0);
  }
  model.narrow_params(step);
  for (A x : model.get_grads()) t.grads.push_back(float(x));
  for (A x : model.get_params()) t.master.push_back(float(x));
  std::vector<T> working(n);
  be.download(working.data(), model.params(), n);
  for (T x : working) t.working.push_back(to_f(x));
  be.release(m);
  be.release(v);
  return t;
}

template <class T>
void expect_identical_through_decorator(const std::string& family) {
  const merino::ModelConfig cfg = merino::test::tiny_config(family);
  merino::CpuBackend<T> direct, wrapped;
  merino::bench::TimingBackend<T> decorator(wrapped, nullptr);
  const Trajectory want = train<T>(cfg, direct);
  const Trajectory got = train<T>(cfg, decorator);
  EXPECT_EQ(got.losses, want.losses);
  EXPECT_EQ(got.grads, want.grads);
  EXPECT_EQ(got.master, want.master);
  EXPECT_EQ(got.working, want.working);
  EXPECT_EQ(decorator.name(), wrapped.name());
}

class TimingBackendForwards : public ::testing::TestWithParam<std::string> {};

TEST_P(TimingBackendForwards, Fp32TrainingIsBitIdentical) {
  expect_identical_through_decorator<float>(GetParam());
}
TEST_P(TimingBackendForwards, Bf16TrainingIsBitIdentical) {
  expect_identical_through_decorator<bf16>(GetParam());
}
INSTANTIATE_TEST_SUITE_P(Families, TimingBackendForwards,
                         ::testing::Values("tiny-gpt2", "tiny-llama", "tiny-merino", "tiny-opt"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace

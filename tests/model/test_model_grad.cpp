// Whole-model gradients against central finite differences of the loss, in double precision,
// for a tiny model of each family. Every parameter tensor is probed at several positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model_test_util.h"

namespace {

using merino::CpuBackend;
using merino::Model;

struct GradCheck {
  double max_rel_error = 0;
  std::string worst;
  size_t probes = 0;
};

GradCheck check_gradients(const merino::ModelConfig& cfg, int B, int Tn, bool ignore_some) {
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  m.init_weights(1234);
  const auto tokens = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 7);
  auto targets = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 8);
  if (ignore_some) targets[1] = targets[targets.size() - 2] = Model<double>::kIgnoreIndex;

  const double grad_scale = 0.75;  // checks that the scale reaches every gradient
  m.zero_grads();
  m.forward_backward(tokens.data(), targets.data(), B, Tn, grad_scale);
  const std::vector<double> grad = m.get_grads();
  std::vector<double> p = m.get_params();

  GradCheck out;
  std::mt19937 rng(99);
  const double h = 1e-5;
  for (const auto& e : m.layout().entries) {
    const size_t probes = std::min<size_t>(e.numel, 5);
    for (size_t k = 0; k < probes; ++k) {
      const size_t idx = e.offset + (k == 0 ? 0 : rng() % e.numel);
      const double saved = p[idx];
      p[idx] = saved + h;
      m.set_params(p);
      const double up = m.forward(tokens.data(), targets.data(), B, Tn);
      p[idx] = saved - h;
      m.set_params(p);
      const double down = m.forward(tokens.data(), targets.data(), B, Tn);
      p[idx] = saved;
      const double numeric = grad_scale * (up - down) / (2 * h);
      const double analytic = grad[idx];
      const double rel = std::abs(numeric - analytic) /
                         std::max({std::abs(numeric), std::abs(analytic), 1e-7});
      ++out.probes;
      if (rel > out.max_rel_error) {
        out.max_rel_error = rel;
        out.worst = e.name + "[" + std::to_string(idx - e.offset) + "] analytic " +
                    std::to_string(analytic) + " numeric " + std::to_string(numeric);
      }
    }
  }
  return out;
}

void expect_exact_gradients(const std::string& config, bool ignore_some = false) {
  const auto cfg = merino::test::tiny_config(config);
  const GradCheck r = check_gradients(cfg, 2, cfg.context_length - 1, ignore_some);
  EXPECT_GT(r.probes, 20u);
  EXPECT_LT(r.max_rel_error, 1e-3) << "worst: " << r.worst;
}

}  // namespace

TEST(ModelGradient, Gpt2Family) { expect_exact_gradients("tiny-gpt2"); }
TEST(ModelGradient, OptFamilyUntiedReluWithIgnoredTargets) { expect_exact_gradients("tiny-opt", true); }
TEST(ModelGradient, LlamaGqaRopeSwigluTiedRepeat) { expect_exact_gradients("tiny-llama"); }
TEST(ModelGradient, MerinoHeterogeneousSharedBlocks) { expect_exact_gradients("tiny-merino"); }

// Model::set_grad_ready_hook, which data parallelism relies on to start all-reducing a bucket
// before the backward pass ends. A range reported too early would be communicated before its
// gradient is complete, so every reported range is snapshotted at the moment it is reported and
// compared with the gradient at the end of the pass: they must be identical. The ranges must
// also cover every parameter exactly once, and the order must be from the output back to the
// input (what lets buckets grow downwards in the buffer).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model_test_util.h"

namespace {

struct Reported {
  size_t offset, numel;
  std::vector<float> snapshot;
};

void check_hook(const std::string& config_name) {
  SCOPED_TRACE(config_name);
  const merino::ModelConfig cfg = merino::test::tiny_config(config_name);
  merino::CpuBackend<float> be;
  merino::Model<float> m(cfg, be);
  m.init_weights(5);
  const int B = 2, T = 5;  // within every tiny config's context length
  const auto tokens = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 1);
  const auto targets = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 2);

  std::vector<Reported> reported;
  m.set_grad_ready_hook([&](size_t offset, size_t numel) {
    std::vector<float> all = m.get_grads();
    reported.push_back({offset, numel, std::vector<float>(all.begin() + long(offset), all.begin() + long(offset + numel))});
  });
  m.zero_grads();
  // a non-zero gradient before the pass checks that ranges are final for the *accumulated* value
  m.forward_backward(tokens.data(), targets.data(), B, T, 0.5f);
  reported.clear();
  m.forward_backward(tokens.data(), targets.data(), B, T, 0.5f);
  const std::vector<float> final_grads = m.get_grads();

  std::vector<int> covered(m.num_params(), 0);
  for (const Reported& r : reported) {
    for (size_t i = 0; i < r.numel; ++i) {
      ++covered[r.offset + i];
      ASSERT_EQ(r.snapshot[i], final_grads[r.offset + i])
          << "parameter " << r.offset + i << " reported final but changed later";
    }
  }
  for (size_t i = 0; i < covered.size(); ++i) ASSERT_EQ(covered[i], 1) << "parameter " << i;

  // the embedding tables come last (the token table, or the position table below it when the
  // token table is stored last as the tied head); the first report lies above every layer's
  // parameters
  ASSERT_FALSE(reported.empty());
  const size_t last = reported.back().offset;
  EXPECT_TRUE(last == m.layout().wte || last == m.layout().wpe) << last;
  EXPECT_GT(reported.front().offset, reported[reported.size() / 2].offset);
}

TEST(grad_ready, Gpt2LearnedPositionsTied) { check_hook("tiny-gpt2"); }
TEST(grad_ready, OptUntiedHead) { check_hook("tiny-opt"); }
TEST(grad_ready, LlamaGqaRopeRepeatedLayers) { check_hook("tiny-llama"); }
TEST(grad_ready, MerinoSharedBlocksWidthProjections) { check_hook("tiny-merino"); }

}  // namespace

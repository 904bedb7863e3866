// Model::memory_plan against what a model really allocates: a backend that reserves exactly the
// plan must serve the constructor and a whole forward/backward from its block, with nothing
// allocated outside it and nothing left over, for every model family and both precisions.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model_test_util.h"

namespace {

template <class T>
void expect_plan_is_exact(const std::string& config, int B, int Tn) {
  SCOPED_TRACE(config + " B=" + std::to_string(B) + " T=" + std::to_string(Tn));
  const merino::ModelConfig cfg = merino::test::tiny_config(config);
  const merino::MemoryPlan plan = merino::Model<T>::memory_plan(cfg, B, Tn);
  merino::CpuBackend<T> be;
  be.reserve(plan);
  merino::Model<T> model(cfg, be);
  model.init_weights(1);
  const auto tokens = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 2);
  const auto targets = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 3);
  model.forward_backward(tokens.data(), targets.data(), B, Tn);
  model.forward(tokens.data(), targets.data(), 1, Tn);  // a smaller batch takes nothing new
  const merino::MemoryUse use = be.memory_use();
  EXPECT_EQ(use.outside_peak, 0u) << "the plan missed buffers";
  EXPECT_EQ(use.reserved, plan.total());
  EXPECT_EQ(use.peak, plan.total()) << "the plan counted buffers the model never takes";
  EXPECT_EQ(plan.batch, B);
  EXPECT_EQ(plan.seq_len, Tn);
}

TEST(MemoryPlan, CoversEveryAllocationOfEachFamily) {
  for (const char* config : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    expect_plan_is_exact<float>(config, 3, 5);
    expect_plan_is_exact<merino::bf16>(config, 2, 6);
  }
}

TEST(MemoryPlan, CountsPartsAndLargestShapes) {
  const merino::ModelConfig cfg = merino::test::tiny_config("tiny-merino");  // widths 8, 12, 4
  const auto fp32 = merino::Model<float>::memory_plan(cfg, 2, 6);
  const auto bf16 = merino::Model<merino::bf16>::memory_plan(cfg, 2, 6);
  EXPECT_EQ(fp32.width, 12);
  EXPECT_EQ(fp32.heads, 3);
  ASSERT_EQ(fp32.parts.size(), 3u);  // parameters, gradients, activations
  ASSERT_EQ(bf16.parts.size(), 4u);  // and the fp32 master weights
  EXPECT_EQ(bf16.parts[1].what, "master weights");
  // the weights the ops read, and their gradients, carry the LM head's padding rows; the
  // master weights only the optimizer reads do not
  const merino::ParamLayout layout = merino::build_param_layout(cfg);
  ASSERT_GT(layout.head_padding, 0u);
  using merino::Arena;
  EXPECT_EQ(fp32.parts[0].bytes,
            Arena::rounded((layout.total + layout.head_padding) * sizeof(float)));
  EXPECT_EQ(bf16.parts[1].bytes, Arena::rounded(layout.total * sizeof(float)));
}

// The zero-shot scorer reserves a KV cache of its batch beside the model (eval/eval_model.h):
// KVCache::add_to_plan must count exactly what the cache allocates, and a cached forward pass
// of the whole batch must take nothing beyond the model's own plan.
TEST(MemoryPlan, KVCachePlanCoversTheCacheAndACachedPass) {
  for (const char* config : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(config);
    const merino::ModelConfig cfg = merino::test::tiny_config(config);
    const int B = 3, L = cfg.context_length;
    merino::MemoryPlan plan = merino::Model<float>::memory_plan(cfg, B, L);
    const size_t model_bytes = plan.total();
    merino::KVCache<float>::add_to_plan(plan, cfg, B, L);
    ASSERT_GT(plan.total(), model_bytes);
    merino::CpuBackend<float> be;
    be.reserve(plan);
    merino::Model<float> model(cfg, be);
    model.init_weights(1);
    merino::KVCache<float> cache(be, cfg, B, L);
    const auto tokens = merino::test::random_tokens(size_t(B) * L, cfg.vocab_size, 2);
    model.forward_cached(cache, tokens.data(), B, L);
    const merino::MemoryUse use = be.memory_use();
    EXPECT_EQ(use.outside_peak, 0u) << "the plan missed buffers";
    EXPECT_EQ(use.peak, plan.total()) << "the plan counted buffers nothing takes";
  }
}

// The check above can fail: a plan for a smaller batch than the model then runs leaves the
// activations outside the block.
TEST(MemoryPlan, AnUndersizedPlanShowsAsOutsideMemory) {
  const merino::ModelConfig cfg = merino::test::tiny_config("tiny-gpt2");
  merino::CpuBackend<float> be;
  be.reserve(merino::Model<float>::memory_plan(cfg, 1, 4));
  merino::Model<float> model(cfg, be);
  const auto tokens = merino::test::random_tokens(2 * 4, cfg.vocab_size, 2);
  model.forward(tokens.data(), tokens.data(), 2, 4);
  EXPECT_GT(be.memory_use().outside_peak, 0u);
}

}  // namespace

// Cost models: the closed-form parameter count equals the model builder's for random
// candidates, FLOPs equal count_model's, and the latency model behaves like a roofline.
#include <gtest/gtest.h>

#include "base/errors.h"
#include "base/splitmix.h"
#include "model/param_layout.h"
#include "search/cost.h"
#include "search/default_budget.h"
#include "search/mutation.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

TEST(search_cost, ParamsAndFlopsEqualModelBuilderOnRandomCandidates) {
  for (const bool share : {false, true}) {
    SCOPED_TRACE(share ? "shared" : "unshared");
    ms::SearchSpace space;
    space.n_blocks = 4;
    space.seq_len = 512;
    space.share = share;
    const ms::DeviceProfile& nano = ms::find_device("jetson-nano");
    merino::SplitMix64 rng(7);
    ms::Candidate c = ms::smallest_candidate(space);
    int checked = 0;
    for (int i = 0; i < 3000; ++i) {
      ms::Candidate next = c;
      if (!ms::mutate(next, space, rng)) continue;
      c = next;  // a random walk through the space, widths changing between blocks
      const merino::ModelConfig cfg = ms::to_model_config(c, space, "walk");
      const ms::Costs costs = ms::estimate_costs(c, space, nano);
      const merino::ModelCounts counts = merino::count_model(cfg);
      ASSERT_EQ(costs.params, counts.params) << "step " << i;
      if (i % 50 == 0) {
        ASSERT_EQ(costs.params, merino::build_param_layout(cfg).total) << "step " << i;
      }
      ASSERT_NEAR(costs.flops, counts.forward_flops_per_token,
                  1e-12 * counts.forward_flops_per_token);
      ++checked;
    }
    EXPECT_GT(checked, 1000);
  }
}

TEST(search_cost, LatencyGrowsWithDepthAndWidthAndIsFasterOnBiggerDevices) {
  ms::SearchSpace space;
  space.n_blocks = 1;
  const ms::DeviceProfile& nano = ms::find_device("jetson-nano");
  const double base = ms::estimate_costs(candidate({{512, 8, 8, 4}}), space, nano).latency;
  EXPECT_GT(ms::estimate_costs(candidate({{512, 8, 8, 5}}), space, nano).latency, base);
  EXPECT_GT(ms::estimate_costs(candidate({{640, 10, 8, 4}}), space, nano).latency, base);
  auto on = [&](const char* device) {
    return ms::estimate_costs(candidate({{512, 8, 8, 4}}), space, ms::find_device(device)).latency;
  };
  EXPECT_GT(on("phone-cpu"), on("jetson-nano"));  // fp32 weights over a similar memory bus
  EXPECT_GT(on("jetson-nano"), on("a100"));
  EXPECT_GT(on("a100"), on("h100"));
}

TEST(search_cost, JetsonNanoDecodeIsBoundByStreamingTheWeights) {
  // batch-1 decode reads every executed weight once: time ~ bytes / bandwidth
  ms::SearchSpace space;
  space.n_blocks = 1;
  space.seq_len = 256;  // a short KV cache, so the weights dominate
  const ms::Candidate c = candidate({{1024, 16, 8, 24}});
  const ms::Costs costs = ms::estimate_costs(c, space, ms::find_device("jetson-nano"));
  const double weights = 24.0 * (12.0 * 1024 * 1024) + 50257.0 * 1024;  // layers + tied head
  const double streaming = weights * 2 / 25.6e9;
  EXPECT_GT(costs.latency, streaming);
  // plus the KV cache (4%) and 7 kernels x 15 us per layer (9%)
  EXPECT_LT(costs.latency, streaming * 1.15);
}

TEST(search_cost, UnknownDeviceIsAConfigError) {
  EXPECT_EQ(ms::device_profiles().size(), 4u);
  try {
    ms::find_device("pdp-11");
    FAIL();
  } catch (const merino::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "--device: unknown device 'pdp-11' (known: jetson-nano, phone-cpu, a100, h100)");
  }
}

TEST(search_default_budget, ReferenceShapeIsGpt2SmallAtItsSizeAndTheLargestThatFits) {
  ms::SearchSpace space;  // GPT-2 vocabulary, context 1024
  // at GPT-2-124M's parameter count the reference is GPT-2-124M (configs/gpt2-124m.yaml)
  const merino::ModelCounts gpt2 = merino::count_model(
      merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/gpt2-124m.yaml"));
  const ms::ReferenceShape at_gpt2 = ms::reference_shape(double(gpt2.params), space);
  EXPECT_EQ(at_gpt2.layers, 12);
  EXPECT_EQ(at_gpt2.width, 768);
  EXPECT_EQ(at_gpt2.params, gpt2.params);
  EXPECT_DOUBLE_EQ(at_gpt2.flops, gpt2.forward_flops_per_token);
  // 64M: 8 x 512 fits, 9 x 576 does not (each counted by the model builder)
  auto counts = [&](int layers) {
    merino::ModelConfig m =
        merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/gpt2-124m.yaml");
    m.blocks[0].layers = layers;
    m.blocks[0].d_model = 64 * layers;
    m.blocks[0].n_heads = m.blocks[0].n_kv_heads = layers;
    m.blocks[0].ffn_dim = 4 * 64 * layers;
    return merino::count_model(m);
  };
  const ms::ReferenceShape at_64m = ms::reference_shape(64e6, space);
  EXPECT_EQ(at_64m.layers, 8);
  EXPECT_EQ(at_64m.params, counts(8).params);
  EXPECT_DOUBLE_EQ(at_64m.flops, counts(8).forward_flops_per_token);
  EXPECT_LE(double(counts(8).params), 64e6);
  EXPECT_GT(double(counts(9).params), 64e6);
  // below the smallest shape: still one layer of width 64
  EXPECT_EQ(ms::reference_shape(1e6, space).layers, 1);
}

// Cost models: the closed-form parameter count equals the model builder's for random
// candidates, FLOPs equal count_model's, and the latency model behaves like a roofline.
#include <gtest/gtest.h>

#include "data/splitmix.h"
#include "model/param_layout.h"
#include "model/yaml_reader.h"
#include "search/cost.h"
#include "search/mutation.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

TEST(search_cost, ParamsAndFlopsEqualModelBuilderOnRandomCandidates) {
  ms::SearchSpace space;
  space.n_blocks = 4;
  space.seq_len = 512;
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

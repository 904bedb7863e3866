// The check that the latency table measures the right thing: its prediction for a whole model
// (widths changing between blocks, so proj_in and lm_proj are in) against timing
// Model<float>::forward of that model. Wall clock on a shared machine, so the bound is loose
// (a factor of 2), the model's time is the fastest of several runs, and a miss is retried.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "base/splitmix.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "search/measured_cost.h"
#include "search/op_timer.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

TEST(search_measured_forward, TablePredictsTheModelsForwardPassWithinAFactorOfTwo) {
  ms::SearchSpace space;
  space.vocab_size = 2048;
  space.seq_len = 64;
  space.n_blocks = 2;
  const ms::Candidate c = candidate({{128, 4, 8, 3}, {192, 6, 6, 2}});
  merino::CpuBackend<float> be;
  merino::Model<float> model(ms::to_model_config(c, space, "timed"), be);
  model.init_weights(1);
  merino::SplitMix64 rng(3);
  std::vector<int32_t> tokens(size_t(space.seq_len)), targets(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = int32_t(rng.below(uint64_t(space.vocab_size)));
    targets[i] = int32_t(rng.below(uint64_t(space.vocab_size)));
  }
  auto forward_seconds = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(tokens.data(), targets.data(), 1, space.seq_len);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  forward_seconds();  // warm-up: allocates the activations

  double predicted = 0, actual = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // another process may slow either side once
    ms::MeasuredLatency table(ms::LatencyTable{ms::timing_threads(), {}}, ms::time_op);
    predicted = table.latency(c, space);
    actual = forward_seconds();
    for (int run = 0; run < 9; ++run) actual = std::min(actual, forward_seconds());
    if (predicted >= 0.5 * actual && predicted <= 2 * actual) break;
  }
  RecordProperty("predicted_ms", std::to_string(predicted * 1e3));
  RecordProperty("forward_ms", std::to_string(actual * 1e3));
  EXPECT_GE(predicted, 0.5 * actual) << "forward " << actual * 1e3 << " ms";
  EXPECT_LE(predicted, 2.0 * actual) << "forward " << actual * 1e3 << " ms";
}

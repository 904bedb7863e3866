// The latency table measures the right thing: summing its operations (forward_ops, each run as
// often as the candidate repeats it) issues the backend calls Model<float>::forward makes for
// that candidate, recorded name and sizes. Widths change between blocks, so proj_in and lm_proj
// are in. How close the table's seconds come to the forward pass's is a number, measured by
// bench/bench_measured_latency; this test compares what is run, not how long it takes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "recording_backend.h"
#include "search/measured_cost.h"
#include "search/op_timer.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

namespace {

// A forward pass's calls, split by what the table must reproduce exactly and what it charges
// differently: the GEMMs, attention, embedding and loss match call for call; the norms match in
// number only, because the table counts the first layer's norm (the one no residual add
// precedes) at the final width, and times the norm after a width projection fused with the
// residual add before it, where the model runs the add alone (residual_forward).
struct Calls {
  std::vector<std::string> exact;  // sorted
  int norms = 0;
  int residual_adds = 0;
};

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

Calls split(const std::vector<std::string>& ops) {
  Calls c;
  for (const std::string& op : ops) {
    if (starts_with(op, "layernorm_forward ") || starts_with(op, "residual_layernorm_forward "))
      ++c.norms;
    else if (starts_with(op, "residual_forward "))
      ++c.residual_adds;
    else
      c.exact.push_back(op);
  }
  std::sort(c.exact.begin(), c.exact.end());
  return c;
}

}  // namespace

TEST(search_measured_forward, TableOperationsIssueTheModelsForwardCalls) {
  ms::SearchSpace space;
  space.vocab_size = 2048;
  space.seq_len = 64;
  space.n_blocks = 3;
  // 128 -> 192 -> 192: one proj_in, and lm_proj back to the embedding width
  const ms::Candidate c = candidate({{128, 4, 8, 3}, {192, 6, 6, 2}, {192, 3, 4, 1}});

  merino::test::RecordingBackend model_be;
  merino::Model<float> model(ms::to_model_config(c, space, "recorded"), model_be);
  model.init_weights(1);
  std::vector<int32_t> tokens(size_t(space.seq_len)), targets(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = int32_t(i);
    targets[i] = int32_t(i + 1);
  }
  model_be.clear();
  model.forward(tokens.data(), targets.data(), 1, space.seq_len);
  const Calls model_calls = split(model_be.ops());

  std::vector<std::string> table_ops;
  for (const auto& [op, runs] : ms::forward_ops(c, space)) {
    merino::test::RecordingBackend be;
    const ms::OpRun run(op, be);
    be.clear();  // setting up uploads values; only the run's calls count
    for (int r = 0; r < runs; ++r) run.run();
    table_ops.insert(table_ops.end(), be.ops().begin(), be.ops().end());
  }
  const Calls table_calls = split(table_ops);

  // anchors independent of both sides: the two width projections and the tied head
  const std::vector<std::string>& exact = model_calls.exact;
  for (const char* anchor : {"matmul_forward 64 128 192 1", "matmul_forward 64 192 128 0",
                             "matmul_forward 64 128 2048 0"})
    EXPECT_EQ(std::count(exact.begin(), exact.end(), anchor), 1) << anchor;
  EXPECT_EQ(table_calls.exact, model_calls.exact);
  // one norm before each of the 2 x 6 sub-layers, and the final one
  EXPECT_EQ(model_calls.norms, 13);
  EXPECT_EQ(table_calls.norms, model_calls.norms);
  EXPECT_EQ(model_calls.residual_adds, 1);  // before proj_in
  EXPECT_EQ(table_calls.residual_adds, 0);
}

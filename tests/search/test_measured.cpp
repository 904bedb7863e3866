// `merino search --measure`: a candidate's latency is the sum of its forward-pass operations
// from the table, each shape is timed once, a loaded table repeats a search without timing
// anything, and the latency budget holds for the measured figure. Timings here come from a
// deterministic stand-in, except where the CPU backend itself is under test.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "search/measured_cost.h"
#include "search/op_timer.h"
#include "search/report.h"
#include "search_test_util.h"
#include "temp_path.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

namespace {

// A stand-in for time_op: about the operation's FLOPs at 100 GFLOP/s plus 1 us, and a count of
// its calls.
struct FakeTimer {
  int* calls;
  double operator()(const ms::Op& op) const {
    ++*calls;
    const double T = op.seq_len, a = op.a, b = op.b;
    double flops = 0;
    switch (op.kind) {
      case ms::OpKind::Vocab: flops = 2 * T * a * b; break;
      case ms::OpKind::Projection: flops = 2 * T * a * b; break;
      case ms::OpKind::Attention: flops = 8 * T * a * a + 2 * T * T * a + T * b; break;
      case ms::OpKind::Ffn: flops = 4 * T * a * b; break;
      case ms::OpKind::Final: flops = 2 * T * a * b; break;
    }
    return flops / 1e11 + 1e-6;
  }
};

ms::LatencyTable empty_table() { return ms::LatencyTable{1, {}}; }

ms::SearchSettings settings(uint64_t seed) {
  ms::SearchSettings s;
  s.space.seq_len = 256;
  s.budgets.params = 200e6;    // loose: the latency budget binds
  s.budgets.latency = 60e-3;  // the stand-in's vocab op alone is 16 ms at width 64
  s.iterations = 3000;
  s.seed = seed;
  return s;
}

ms::SearchResult search(const ms::SearchSettings& s, ms::MeasuredLatency& latency) {
  return ms::evolve(s, ms::make_measured_evaluator(s.space, latency,
                                                   ms::find_objective("subspace"), {}));
}

}  // namespace

TEST(search_measured, ForwardOpsFollowTheModelsBlocks) {
  ms::SearchSpace space;
  space.n_blocks = 3;
  space.seq_len = 128;
  // widths 256 -> 384 -> 384: one proj_in, and lm_proj back to the embedding width
  const ms::Candidate c = candidate({{256, 4, 8, 3}, {384, 6, 6, 2}, {384, 12, 4, 5}});
  const auto ops = ms::forward_ops(c, space);
  using K = ms::OpKind;
  const std::vector<std::pair<ms::Op, int>> expected = {
      {{K::Vocab, 128, 256, 50257}, 1},  {{K::Attention, 128, 256, 4}, 3},
      {{K::Ffn, 128, 256, 1024}, 3},     {{K::Projection, 128, 256, 384}, 1},
      {{K::Attention, 128, 384, 6}, 2},  {{K::Ffn, 128, 384, 1152}, 2},
      {{K::Attention, 128, 384, 12}, 5}, {{K::Ffn, 128, 384, 768}, 5},
      {{K::Final, 128, 384, 256}, 1}};
  ASSERT_EQ(ops.size(), expected.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_TRUE(ops[i].first == expected[i].first) << "op " << i;
    EXPECT_EQ(ops[i].second, expected[i].second) << "op " << i;
  }
}

TEST(search_measured, EachShapeIsTimedOnceAndTheLatencySumsTheTable) {
  ms::SearchSpace space;
  space.n_blocks = 2;
  space.seq_len = 64;
  int calls = 0;
  ms::MeasuredLatency latency(empty_table(), FakeTimer{&calls});
  const ms::Candidate c = candidate({{256, 4, 8, 3}, {384, 6, 6, 2}});
  const double first = latency.latency(c, space);
  EXPECT_EQ(calls, 7);  // vocab, 2 x (attention, ffn), projection, final
  EXPECT_EQ(latency.measured(), 7);
  EXPECT_EQ(latency.table().seconds.size(), 7u);
  double sum = 0;
  for (const auto& [op, runs] : ms::forward_ops(c, space))
    sum += runs * latency.table().seconds.at(op);
  EXPECT_EQ(first, sum);
  EXPECT_EQ(latency.latency(c, space), first);
  EXPECT_EQ(calls, 7);  // memoised
  // a second block of one more layer: no new shape
  EXPECT_GT(latency.latency(candidate({{256, 4, 8, 3}, {384, 6, 6, 3}}), space), first);
  EXPECT_EQ(calls, 7);
  // a new head count in the second block: only its attention op is new
  latency.latency(candidate({{256, 4, 8, 3}, {384, 12, 6, 2}}), space);
  EXPECT_EQ(calls, 8);
}

TEST(search_measured, ALoadedTableRepeatsTheSearchWithoutTimingAnything) {
  const ms::SearchSettings s = settings(4);
  int calls = 0;
  ms::MeasuredLatency timed(empty_table(), FakeTimer{&calls});
  const ms::SearchResult a = search(s, timed);
  EXPECT_EQ(size_t(calls), timed.table().seconds.size());
  const std::string file = merino::test::temp_path("search_table.json");
  ms::save_latency_table(timed.table(), file);

  ms::MeasuredLatency loaded(ms::load_latency_table(file, 1), [](const ms::Op&) {
    ADD_FAILURE() << "timed an operation the loaded table holds";
    return 1.0;
  });
  std::remove(file.c_str());
  const ms::SearchResult b = search(s, loaded);
  EXPECT_EQ(loaded.measured(), 0);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(a.history[i].iteration, b.history[i].iteration);
    EXPECT_TRUE(a.history[i].candidate == b.history[i].candidate);
    EXPECT_EQ(a.history[i].eval.costs.latency, b.history[i].eval.costs.latency);
  }
  EXPECT_EQ(a.stats.accepted, b.stats.accepted);
  EXPECT_EQ(a.stats.over_budget, b.stats.over_budget);
}

TEST(search_measured, EveryKeptCandidateMeetsTheMeasuredLatencyBudget) {
  const ms::SearchSettings s = settings(7);
  int calls = 0;
  ms::MeasuredLatency latency(empty_table(), FakeTimer{&calls});
  const ms::SearchResult r = search(s, latency);
  EXPECT_GT(r.stats.over_budget, 0);
  ASSERT_GT(r.history.size(), 5u);
  for (const ms::Improvement& imp : r.history)
    EXPECT_LE(imp.eval.costs.latency, s.budgets.latency) << "iteration " << imp.iteration;
  // the best model's latency, summed again from the final table, fits and fills the budget
  ms::MeasuredLatency again(latency.table(), FakeTimer{&calls});
  const double best = again.latency(r.best, s.space);
  EXPECT_EQ(again.measured(), 0);
  EXPECT_EQ(best, r.best_eval.costs.latency);
  EXPECT_LE(best, s.budgets.latency);
  EXPECT_GT(best, 0.9 * s.budgets.latency);
}

TEST(search_measured, ReportSaysTheLatencyWasMeasured) {
  ms::SearchReport r;
  r.settings = settings(1);
  r.settings.iterations = 200;
  int calls = 0;
  ms::MeasuredLatency latency(empty_table(), FakeTimer{&calls});
  r.result = search(r.settings, latency);
  r.device = ms::kMeasuredDevice;
  r.measure_threads = 2;
  r.objective = "subspace";
  r.command = "merino search --measure";
  r.name = "m";
  EXPECT_NE(ms::model_yaml(r).find(" per forward pass of 256 tokens, batch 1, measured on this "
                                   "CPU with 2 threads (budget 60 ms)\n"),
            std::string::npos);
  std::istringstream log(ms::search_log(r));
  std::string start;
  std::getline(log, start);
  const nlohmann::json j = nlohmann::json::parse(start);
  EXPECT_EQ(j["device"], "cpu-measured");
  EXPECT_EQ(j["measure_threads"], 2);
}

TEST(search_measured, TimesEveryKindOfOperationOnTheCpuBackend) {
  ms::SearchSpace tiny;
  tiny.vocab_size = 512;
  tiny.seq_len = 16;
  tiny.n_blocks = 2;
  // 64 -> 96: a proj_in and an lm_proj
  const auto ops = ms::forward_ops(candidate({{64, 2, 4, 2}, {96, 3, 4, 1}}), tiny);
  int kinds = 0;
  for (const auto& [op, runs] : ops) {
    const double seconds = ms::time_op(op);
    EXPECT_GT(seconds, 0) << "op kind " << int(op.kind);
    EXPECT_LT(seconds, 0.5) << "op kind " << int(op.kind);  // microseconds of work
    kinds |= 1 << int(op.kind);
  }
  EXPECT_EQ(kinds, 0x1f);  // all five kinds
  EXPECT_GE(ms::timing_threads(), 1);
}

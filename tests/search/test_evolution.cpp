// The evolutionary search: budgets always hold, the same seed gives the same search, budgets
// that nothing fits are a ConfigError, mutations keep to the head sizes the CUDA attention
// kernels support. Speed is measured by bench/bench_search, not here.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "base/errors.h"
#include "base/splitmix.h"
#include "model/param_layout.h"
#include "search/evolution.h"
#include "search/mutation.h"

namespace ms = merino::search;

namespace {

ms::SearchSettings settings(long long iterations, uint64_t seed) {
  ms::SearchSettings s;
  s.budgets.params = 40e6;
  s.budgets.flops = 0.8e9;
  s.budgets.latency = 30e-3;
  s.iterations = iterations;
  s.seed = seed;
  return s;
}

ms::SearchResult run(const ms::SearchSettings& s) {
  return ms::evolve(s, ms::make_evaluator(s.space, ms::find_device("jetson-nano"),
                                          ms::find_objective("subspace"), {}));
}

}  // namespace

TEST(search_evolution, EveryEvaluatedCandidateThatIsKeptMeetsTheBudgets) {
  const ms::SearchSettings s = settings(20000, 1);
  long long evaluated = 0, over = 0;
  const ms::Evaluate inner = ms::make_evaluator(s.space, ms::find_device("jetson-nano"),
                                                ms::find_objective("subspace"), {});
  const ms::SearchResult r = ms::evolve(s, [&](const ms::Candidate& c) {
    const ms::Evaluation e = inner(c);
    ++evaluated;
    over += !ms::within(e.costs, s.budgets);
    return e;
  });
  EXPECT_EQ(over, r.stats.over_budget);  // every over-budget child was rejected
  EXPECT_EQ(evaluated,
            1 + r.stats.accepted + r.stats.over_budget + r.stats.ineffective + r.stats.duplicate);
  ASSERT_GT(r.history.size(), 10u);
  for (const ms::Improvement& imp : r.history) {
    EXPECT_TRUE(ms::within(imp.eval.costs, s.budgets)) << "iteration " << imp.iteration;
    EXPECT_TRUE(imp.eval.value.effective);
    EXPECT_LE(imp.eval.value.rho, ms::ObjectiveParams{}.rho_max);
  }
  // the best scores rise, and the best model, as the builder counts it, fits
  for (size_t i = 1; i < r.history.size(); ++i)
    EXPECT_GT(r.history[i].eval.value.score, r.history[i - 1].eval.value.score);
  const auto counts = merino::count_model(ms::to_model_config(r.best, s.space, "best"));
  EXPECT_LE(double(counts.params), s.budgets.params);
  EXPECT_LE(counts.forward_flops_per_token, s.budgets.flops);
  // the search fills at least one budget: nothing cheap is left on the table
  const ms::Costs& c = r.best_eval.costs;
  EXPECT_GT(std::max({c.params / s.budgets.params, c.flops / s.budgets.flops,
                      c.latency / s.budgets.latency}),
            0.95);
}

TEST(search_evolution, SameSeedSameSearch) {
  const ms::SearchResult a = run(settings(5000, 42)), b = run(settings(5000, 42));
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(a.history[i].iteration, b.history[i].iteration);
    EXPECT_TRUE(a.history[i].candidate == b.history[i].candidate);
    EXPECT_EQ(a.history[i].eval.value.score, b.history[i].eval.value.score);
  }
  EXPECT_EQ(a.stats.accepted, b.stats.accepted);
  const ms::SearchResult other = run(settings(5000, 43));
  EXPECT_FALSE(other.history.size() == a.history.size() && other.best == a.best &&
               other.stats.accepted == a.stats.accepted);
}

TEST(search_evolution, BudgetsNothingFitsAreAConfigError) {
  ms::SearchSettings s = settings(100, 1);
  s.budgets.params = 1e6;  // the token table alone needs 50257 x 64
  EXPECT_THROW(run(s), merino::ConfigError);
  s = settings(100, 1);
  s.budgets.latency = 1e-6;
  EXPECT_THROW(run(s), merino::ConfigError);
}

// The default space's head sizes are 32, 48, ..., 128 (kernels/cuda/attention.cuh takes exactly
// these): a random walk of mutations reaches the sizes between the powers of two and never a
// multiple of 8 such as 40 or 88; a space whose bounds are not multiples of its step is refused.
TEST(search_evolution, MutationsKeepToTheCudaAttentionHeadSizes) {
  ms::SearchSpace space;
  EXPECT_EQ(space.head_step, 16);
  merino::SplitMix64 rng(5);
  ms::Candidate c = ms::smallest_candidate(space);
  std::set<int> seen;
  for (int i = 0; i < 20000; ++i) {
    ms::Candidate next = c;
    if (!ms::mutate(next, space, rng)) continue;
    c = next;
    for (int b = 0; b < c.n_blocks; ++b) {
      const int hd = c.blocks[b].head_dim();
      ASSERT_TRUE(hd % 16 == 0 && hd >= 32 && hd <= 128) << "head size " << hd << " at step " << i;
      seen.insert(hd);
    }
  }
  EXPECT_EQ(seen, (std::set<int>{32, 48, 64, 80, 96, 112, 128}));
  ms::Candidate odd = ms::smallest_candidate(space);
  odd.blocks[0].width = 320;  // 8 heads of 40
  odd.blocks[0].heads = 8;
  EXPECT_FALSE(ms::in_space(odd, space));
  space.min_head_dim = 40;
  EXPECT_THROW(ms::check_space(space), merino::ConfigError);
  space.head_step = 8;
  EXPECT_NO_THROW(ms::check_space(space));
}

// --embed-width: the first block's width (the embedding and tied head) stays where it was put,
// in the start, in every mutation the search keeps and in the winner; the other blocks still
// move, and a width no head size divides or outside the bounds is refused.
TEST(search_evolution, AFixedEmbeddingWidthHolds) {
  ms::SearchSettings s = settings(20000, 3);
  s.space.embed_width = 384;
  const ms::Candidate start = ms::smallest_candidate(s.space);
  EXPECT_EQ(start.blocks[0].width, 384);
  EXPECT_TRUE(ms::in_space(start, s.space));
  const ms::SearchResult r = run(s);
  ASSERT_FALSE(r.history.empty());
  std::set<int> later_widths;
  for (const auto& imp : r.history) {
    EXPECT_EQ(imp.candidate.blocks[0].width, 384) << "at iteration " << imp.iteration;
    for (int b = 1; b < imp.candidate.n_blocks; ++b)
      later_widths.insert(imp.candidate.blocks[b].width);
  }
  EXPECT_EQ(r.best.blocks[0].width, 384);
  EXPECT_GT(later_widths.size(), 1u);
  // a free search from the same seed narrows the first block: the fixed one is a real constraint
  s.space.embed_width = 0;
  EXPECT_NE(run(s).best.blocks[0].width, 384);

  ms::Candidate moved = start;
  moved.blocks[0].width = 512;
  moved.blocks[0].heads = 8;
  s.space.embed_width = 384;
  EXPECT_FALSE(ms::in_space(moved, s.space));
  for (int bad : {100, 4096, 32}) {
    s.space.embed_width = bad;
    EXPECT_THROW(ms::check_space(s.space), merino::ConfigError) << bad;
  }
}

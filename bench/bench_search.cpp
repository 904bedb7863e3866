// `merino search` speed: 100,000 evolution iterations (the issue asks for < 10 s on one core)
// at the 64M budgets of `merino search --params 64M --flops 1.5G --latency-ms 50`.
//   Naive    the same evolution with a from-scratch evaluator, as a first implementation would
//            write it: build the ModelConfig, lay out every parameter tensor (build_param_layout,
//            the model builder's count), count_model for FLOPs, and walk every executed layer
//            for the entropy and the latency
//   Search   merino's closed-form evaluator (search/cost.cpp + search/objective.cpp)
//   SearchMeasuredTable
//            `--measure`'s evaluator (search/measured_cost.cpp) on a latency table that already
//            holds every shape the search meets: the cost of the table look-ups. The table is
//            filled by an untimed first search with a stand-in timer (the roofline of
//            search/cost.cpp per operation), since timing thousands of shapes for real takes
//            minutes and is not what this measures.
// Each benchmark reports iterations_per_s and speedup_vs_naive against the naive rate measured
// in this same process. Before timing, the two evaluators are compared on 2,000 random-walk
// candidates; any disagreement aborts the benchmark.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "base/splitmix.h"
#include "model/param_layout.h"
#include "search/evolution.h"
#include "search/measured_cost.h"
#include "search/mutation.h"

namespace {

namespace ms = merino::search;
constexpr long long kIterations = 100000;

// The from-scratch reference. Latency follows search/cost.cpp's kernel list, per executed layer.
struct NaiveEvaluator {
  ms::SearchSpace space;
  ms::DeviceProfile d;
  ms::ObjectiveParams p;

  double kernel(double flops, double bytes) const {
    return std::max(flops / d.peak_flops, bytes / d.bandwidth) + d.kernel_overhead;
  }

  ms::Evaluation operator()(const ms::Candidate& c) const {
    const merino::ModelConfig cfg = ms::to_model_config(c, space, "naive");
    const merino::ParamLayout layout = merino::build_param_layout(cfg);
    const merino::ModelCounts counts = merino::count_model(cfg);
    const double b = d.bytes_per_value, T = cfg.context_length, V = cfg.vocab_size;
    double latency = kernel(0, 2.0 * cfg.embed_dim() * b);
    double entropy = 0, unweighted = 0, maps = 0;
    std::vector<int> depths;
    int prev = cfg.embed_dim();
    for (const merino::BlockConfig& blk : cfg.blocks) {
      const double C = blk.d_model, F = blk.ffn_dim;
      if (blk.d_model != prev) latency += kernel(2 * C * prev, (C * prev + C) * b);
      for (int l = 0; l < blk.executed_layers(); ++l) {
        latency += 2 * kernel(8 * C, 2 * C * b) + kernel(6 * C * C, (3 * C * C + 3 * C) * b) +
                   kernel(4 * C * T, 2 * C * T * b) + kernel(2 * C * C, (C * C + C) * b) +
                   kernel(2 * F * C, (F * C + F) * b) + kernel(2 * F * C, (F * C + C) * b);
        const double attention = std::log(C) + std::log(C), ffn = std::log(C) + std::log(F);
        entropy += p.attention_weight * attention + p.ffn_weight * ffn;
        unweighted += attention + ffn;
        maps += 4;
      }
      depths.push_back(blk.executed_layers());
      prev = blk.d_model;
    }
    const double E = cfg.embed_dim(), Cf = cfg.final_dim();
    latency += kernel(8 * Cf, 2 * Cf * b);
    if (Cf != E) latency += kernel(2 * E * Cf, E * Cf * b);
    latency += kernel(2 * V * E, V * E * b);
    double mean = 0, var = 0;
    for (int x : depths) mean += x;
    mean /= depths.size();
    for (int x : depths) var += (x - mean) * (x - mean);
    var /= depths.size();
    ms::Evaluation e;
    e.costs = {layout.total, counts.forward_flops_per_token, latency};
    e.value.entropy = entropy;
    e.value.rho = maps / std::exp(unweighted / maps);
    e.value.effective = e.value.rho <= p.rho_max;
    e.value.score = entropy * std::exp(-p.depth_penalty * var / (mean * mean));
    return e;
  }
};

bool close(double a, double b) {
  return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b));
}

// Stand-in seconds for one table operation: FLOPs at the phone-cpu profile's peak.
double stand_in_seconds(const ms::Op& op) {
  const double T = op.seq_len, a = op.a, b = op.b;
  const double flops = op.kind == ms::OpKind::Attention ? 8 * T * a * a + 2 * T * T * a
                       : op.kind == ms::OpKind::Ffn     ? 4 * T * a * b
                                                        : 2 * T * a * b;
  return flops / ms::find_device("phone-cpu").peak_flops;
}

struct Setup {
  ms::SearchSettings settings;
  ms::Evaluate fast, naive;
  ms::SearchSettings measured_settings;  // a latency budget in forward-pass seconds
  std::unique_ptr<ms::MeasuredLatency> table;
  ms::Evaluate measured;
  double naive_iterations_per_s = 0;
  std::string error;
};

Setup& setup() {
  static Setup* const s = [] {  // built once, on first use; lives until exit
    auto* x = new Setup;
    x->settings.budgets.params = 64e6;
    x->settings.budgets.flops = 1.5e9;
    x->settings.budgets.latency = 50e-3;
    x->settings.iterations = kIterations;
    x->settings.seed = 1;
    const ms::DeviceProfile& nano = ms::find_device("jetson-nano");
    x->fast = ms::make_evaluator(x->settings.space, nano, ms::find_objective("subspace"), {});
    x->naive = NaiveEvaluator{x->settings.space, nano, {}};
    merino::SplitMix64 rng(9);
    ms::Candidate c = ms::smallest_candidate(x->settings.space);
    for (int i = 0; i < 2000 && x->error.empty(); ++i) {
      ms::Candidate next = c;
      if (!ms::mutate(next, x->settings.space, rng)) continue;
      c = next;
      const ms::Evaluation a = x->fast(c), b = x->naive(c);
      if (a.costs.params != b.costs.params || !close(a.costs.flops, b.costs.flops) ||
          !close(a.costs.latency, b.costs.latency) || !close(a.value.score, b.value.score) ||
          !close(a.value.rho, b.value.rho))
        x->error = "the closed-form and naive evaluators disagree at random-walk step " +
                   std::to_string(i);
    }
    // The naive rate is the best of 3 runs, so one slow run does not inflate every speedup.
    double best = 1e30;
    for (int run = 0; run < 3 && x->error.empty(); ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(ms::evolve(x->settings, x->naive).best_eval.value.score);
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    x->naive_iterations_per_s = kIterations / best;
    x->measured_settings = x->settings;
    x->measured_settings.budgets.latency = 5.0;
    x->table = std::make_unique<ms::MeasuredLatency>(ms::LatencyTable{}, stand_in_seconds);
    x->measured = ms::make_measured_evaluator(x->settings.space, *x->table,
                                              ms::find_objective("subspace"), {});
    if (x->error.empty()) ms::evolve(x->measured_settings, x->measured);  // fills the table
    return x;
  }();
  return *s;
}

void timed(benchmark::State& state, const Setup& s, const ms::SearchSettings& settings,
           const ms::Evaluate& evaluate) {
  double seconds = 0, score = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    score = ms::evolve(settings, evaluate).best_eval.value.score;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double rate = double(kIterations) * state.iterations() / seconds;
  state.counters["iterations_per_s"] = rate;
  state.counters["seconds_per_100k"] = 1e5 / rate;
  state.counters["speedup_vs_naive"] = rate / s.naive_iterations_per_s;
  state.counters["best_score"] = score;
}

void BM_Naive(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  timed(state, s, s.settings, s.naive);
}

void BM_Search(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  timed(state, s, s.settings, s.fast);
}

void BM_SearchMeasuredTable(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  const size_t entries = s.table->table().seconds.size();
  timed(state, s, s.measured_settings, s.measured);
  state.counters["table_entries"] = double(entries);
  if (s.table->table().seconds.size() != entries)
    state.SkipWithError("the timed searches met shapes the table did not hold");
}

BENCHMARK(BM_Naive)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_Search)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_SearchMeasuredTable)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();

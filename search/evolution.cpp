#include "search/evolution.h"

#include <cstdio>

#include "base/errors.h"
#include "search/mutation.h"

namespace merino::search {
namespace {

struct Member {
  Candidate candidate;
  Evaluation eval;
};

std::string smallest_breaks(const Evaluation& e, const Budgets& b) {
  char buf[256];
  if (double(e.costs.params) > b.params)
    std::snprintf(buf, sizeof buf, "the smallest candidate has %zu parameters, above --params",
                  e.costs.params);
  else if (e.costs.flops > b.flops)
    std::snprintf(buf, sizeof buf, "the smallest candidate needs %.4g FLOPs/token, above --flops",
                  e.costs.flops);
  else if (e.costs.latency > b.latency)
    std::snprintf(buf, sizeof buf, "the smallest candidate takes %.3g ms, above --latency-ms",
                  e.costs.latency * 1e3);
  else
    // the smallest candidate has one layer per block, so only fewer blocks lower its rho
    std::snprintf(buf, sizeof buf,
                  "the smallest candidate has rho %.3g, above --rho-max (fewer --blocks give "
                  "shallower candidates)",
                  e.value.rho);
  return buf;
}

}  // namespace

Evaluate make_evaluator(const SearchSpace& space, const DeviceProfile& device,
                        const Objective& objective, const ObjectiveParams& params) {
  return [space, device, fn = objective.fn, params](const Candidate& c) {
    return Evaluation{estimate_costs(c, space, device), fn(c, params)};
  };
}

bool within(const Costs& c, const Budgets& b) {
  return double(c.params) <= b.params && c.flops <= b.flops && c.latency <= b.latency;
}

SearchResult evolve(const SearchSettings& s, const Evaluate& evaluate, const Progress& progress) {
  check_space(s.space);
  if (s.population < 2) throw ConfigError("--population must be at least 2");
  SearchResult r;
  Member start{smallest_candidate(s.space), {}};
  start.eval = evaluate(start.candidate);
  if (!within(start.eval.costs, s.budgets) || !start.eval.value.effective)
    throw ConfigError("budgets too small: " + smallest_breaks(start.eval, s.budgets));
  std::vector<Member> pop{start};
  pop.reserve(size_t(s.population) + 1);
  r.best = start.candidate;
  r.best_eval = start.eval;
  r.history.push_back({0, start.candidate, start.eval});

  SplitMix64 rng(s.seed);
  for (long long it = 1; it <= s.iterations; ++it) {
    if (progress && it % kProgressEvery == 0) progress(it, r.best_eval);
    Candidate child = pop[size_t(rng.below(pop.size()))].candidate;
    if (!mutate(child, s.space, rng)) {
      ++r.stats.out_of_space;
      continue;
    }
    const Evaluation e = evaluate(child);
    if (!within(e.costs, s.budgets)) {
      ++r.stats.over_budget;
      continue;
    }
    if (!e.value.effective) {
      ++r.stats.ineffective;
      continue;
    }
    bool seen = false;  // equal candidates score equally: compare scores first
    for (const Member& m : pop)
      if (m.eval.value.score == e.value.score && m.candidate == child) seen = true;
    if (seen) {
      ++r.stats.duplicate;
      continue;
    }
    ++r.stats.accepted;
    pop.push_back({child, e});
    if (int(pop.size()) > s.population) {
      size_t worst = 0;
      for (size_t i = 1; i < pop.size(); ++i)
        if (pop[i].eval.value.score < pop[worst].eval.value.score) worst = i;
      pop[worst] = pop.back();
      pop.pop_back();
    }
    if (e.value.score > r.best_eval.value.score) {
      r.best = child;
      r.best_eval = e;
      r.history.push_back({it, child, e});
    }
  }
  if (progress) progress(s.iterations, r.best_eval);
  return r;
}

}  // namespace merino::search

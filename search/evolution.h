// Steady-state evolutionary search (Zen-NAS / DeepMAD / MeRino): start from the smallest
// candidate; each iteration mutates a random member, keeps the child only if it meets every
// budget and the effectiveness bound, and drops the worst member once the population is full.
// Deterministic for a given seed.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "search/cost.h"
#include "search/objective.h"
#include "search/space.h"

namespace merino::search {

struct Evaluation {
  Costs costs;
  ObjectiveValue value;
};
using Evaluate = std::function<Evaluation(const Candidate&)>;

// The closed-form evaluator the CLI uses: estimate_costs + the objective.
Evaluate make_evaluator(const SearchSpace& space, const DeviceProfile& device,
                        const Objective& objective, const ObjectiveParams& params);

struct Budgets {
  static constexpr double kNone = std::numeric_limits<double>::infinity();
  double params = kNone;
  double flops = kNone;    // forward FLOPs per token
  double latency = kNone;  // seconds per decode step on the chosen device
};
bool within(const Costs& c, const Budgets& b);

struct SearchSettings {
  SearchSpace space;
  Budgets budgets;
  int population = 128;
  long long iterations = 100000;
  uint64_t seed = 0;
};

struct Improvement {  // the best candidate changed at this iteration (0: the start)
  long long iteration = 0;
  Candidate candidate;
  Evaluation eval;
};

struct SearchStats {
  long long accepted = 0;
  long long out_of_space = 0;  // mutation left the bounds of the space
  long long over_budget = 0;
  long long ineffective = 0;  // rho above rho_max
  long long duplicate = 0;    // already in the population
};

struct SearchResult {
  Candidate best;
  Evaluation best_eval;
  std::vector<Improvement> history;  // best score per iteration, as a step function
  SearchStats stats;
};

// Called every kProgressEvery iterations, and once at the end, with the iteration number and the
// best so far.
using Progress = std::function<void(long long iteration, const Evaluation& best)>;
constexpr long long kProgressEvery = 4096;

// Throws ConfigError when even the smallest candidate breaks a budget or the bound on rho.
SearchResult evolve(const SearchSettings& settings, const Evaluate& evaluate,
                    const Progress& progress = {});

}  // namespace merino::search

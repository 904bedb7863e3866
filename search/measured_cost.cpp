#include "search/measured_cost.h"

#include <chrono>

namespace merino::search {

std::vector<std::pair<Op, int>> forward_ops(const Candidate& c, const SearchSpace& s) {
  const int T = s.seq_len, E = c.blocks[0].width;
  std::vector<std::pair<Op, int>> ops;
  ops.push_back({{OpKind::Vocab, T, E, s.vocab_size}, 1});
  int prev = E;
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& g = c.blocks[i];
    if (g.width != prev) ops.push_back({{OpKind::Projection, T, prev, g.width}, 1});
    ops.push_back({{OpKind::Attention, T, g.width, g.heads}, g.depth});
    ops.push_back({{OpKind::Ffn, T, g.width, g.ffn_dim()}, g.depth});
    prev = g.width;
  }
  ops.push_back({{OpKind::Final, T, prev, E}, 1});
  return ops;
}

double MeasuredLatency::seconds(const Op& op) {
  const auto found = table_.seconds.find(op);
  if (found != table_.seconds.end()) return found->second;
  const auto t0 = std::chrono::steady_clock::now();
  const double s = time_op_(op);
  measuring_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++measured_;
  table_.seconds.emplace(op, s);
  return s;
}

double MeasuredLatency::latency(const Candidate& c, const SearchSpace& space) {
  double total = 0;
  for (const auto& [op, runs] : forward_ops(c, space)) total += runs * seconds(op);
  return total;
}

Evaluate make_measured_evaluator(const SearchSpace& space, MeasuredLatency& latency,
                                 const Objective& objective, const ObjectiveParams& params) {
  return [space, &latency, fn = objective.fn, params](const Candidate& c) {
    Costs costs = count_costs(c, space);
    costs.latency = latency.latency(c, space);
    return Evaluation{costs, fn(c, params)};
  };
}

}  // namespace merino::search

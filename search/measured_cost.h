// Latency measured on this CPU (`merino search --measure`): a candidate's forward pass is a
// handful of operations whose time depends only on their shapes (search/latency_table.h), so
// each distinct shape is timed once, the first time a candidate needs it, and memoised; a
// candidate's latency is then a sum of table entries, fast enough for the evolution's
// hundreds of thousands of evaluations.
#pragma once
#include <functional>
#include <utility>
#include <vector>

#include "search/evolution.h"
#include "search/latency_table.h"

namespace merino::search {

// The device name reports show for measured latency.
constexpr const char* kMeasuredDevice = "cpu-measured";

// The operations of Model<float>::forward on one sequence of space.seq_len tokens (batch 1),
// each with the number of times it runs: the embedding and tied head, each block's proj_in
// where the width changes, depth x (attention + FFN sub-layer) per block, one unfused norm
// (with lm_proj when the last width differs from the first).
std::vector<std::pair<Op, int>> forward_ops(const Candidate& c, const SearchSpace& space);

// Seconds of one run of an operation (search/op_timer.h's time_op; tests pass stand-ins).
using TimeOp = std::function<double(const Op&)>;

class MeasuredLatency {
 public:
  MeasuredLatency(LatencyTable table, TimeOp time_op)
      : table_(std::move(table)), time_op_(std::move(time_op)) {}

  // Seconds for the candidate's forward pass; times the operations the table lacks.
  double latency(const Candidate& c, const SearchSpace& space);

  const LatencyTable& table() const { return table_; }
  int measured() const { return measured_; }  // entries timed by this object
  double measuring_seconds() const { return measuring_seconds_; }

 private:
  double seconds(const Op& op);

  LatencyTable table_;
  TimeOp time_op_;
  int measured_ = 0;
  double measuring_seconds_ = 0;
};

// count_costs + `latency`'s measured latency + the objective. `latency` must outlive the
// evaluator; it grows as the search meets new shapes.
Evaluate make_measured_evaluator(const SearchSpace& space, MeasuredLatency& latency,
                                 const Objective& objective, const ObjectiveParams& params);

}  // namespace merino::search

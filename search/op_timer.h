// Times one latency-table operation (search/latency_table.h) on this CPU: the CPU backend's
// kernels in float32 at batch 1, on as many OpenMP threads as the process has
// (OMP_NUM_THREADS). The Attention and Ffn ops run the model's own sub-layer functions
// (model/sublayers.h), so they issue exactly the calls Model<float>::forward makes.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "base/splitmix.h"
#include "kernels/backend.h"
#include "search/latency_table.h"

namespace merino::search {

// One latency-table operation set up on a backend: its inputs, weights and outputs allocated
// there and filled with random values rather than the backend's zeros, so that GELU, softmax
// and the loss see inputs like a real model's; run() issues the operation's backend calls once.
class OpRun {
 public:
  OpRun(const Op& op, Backend<float>& be);
  ~OpRun();
  OpRun(const OpRun&) = delete;
  OpRun& operator=(const OpRun&) = delete;
  void run() const { run_(); }

 private:
  float* values(size_t n, float scale = 1.0f);
  int32_t* ids(size_t n, int below);

  Backend<float>& be_;
  std::vector<void*> owned_;
  SplitMix64 rng_{1};
  std::function<void()> run_;
};

// The OpenMP thread count the kernels run with, recorded in the table.
int timing_threads();

// Median seconds of one run, after one untimed warm-up run (first-touch page faults, OpenBLAS
// buffers, cold caches). Short operations get more runs, up to 15, so that the median is over
// about 20 ms; long ones get at least 3.
double time_op(const Op& op);

}  // namespace merino::search

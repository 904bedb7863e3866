// Times one latency-table operation (search/latency_table.h) on this CPU: the CPU backend's
// kernels in float32 at batch 1, called as Model<float>::forward calls them, on as many OpenMP
// threads as the process has (OMP_NUM_THREADS).
#pragma once
#include "search/latency_table.h"

namespace merino::search {

// The OpenMP thread count the kernels run with, recorded in the table.
int timing_threads();

// Median seconds of one run, after one untimed warm-up run (first-touch page faults, OpenBLAS
// buffers, cold caches). Short operations get more runs, up to 15, so that the median is over
// about 20 ms; long ones get at least 3.
double time_op(const Op& op);

}  // namespace merino::search

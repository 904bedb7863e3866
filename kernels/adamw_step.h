// The scalars of one AdamW step, shared by every backend's fused AdamW kernel.
#pragma once
#include <cstdint>

namespace merino {

struct AdamWStep {
  double lr = 0;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0;
  int64_t step = 1;       // 1-based, for the bias corrections
  double grad_scale = 1;  // multiplies every gradient (clipping, loss scaling)
  // mixed precision: the bf16 working copy is the master rounded stochastically with the
  // random stream of (round_seed, step), see bf16_stochastic_round_bits in kernels/bf16.h
  uint64_t round_seed = 0;
};

}  // namespace merino

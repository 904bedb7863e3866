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
};

}  // namespace merino

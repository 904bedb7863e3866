#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace merino {

double learning_rate(const Schedule& s, int64_t step) {
  // warmup reaches lr at step warmup_steps - 1, never 0 at step 0 (a wasted step)
  if (step < s.warmup_steps) return s.lr * double(step + 1) / double(s.warmup_steps);
  if (s.kind == ScheduleKind::Constant) return s.lr;
  const int64_t span = std::max<int64_t>(1, s.total_steps - 1 - s.warmup_steps);
  const double progress = std::clamp(double(step - s.warmup_steps) / double(span), 0.0, 1.0);
  const double shape = s.kind == ScheduleKind::Linear ? 1.0 - progress
                                                      : 0.5 * (1.0 + std::cos(M_PI * progress));
  return s.min_lr + (s.lr - s.min_lr) * shape;
}

}  // namespace merino

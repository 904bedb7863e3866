// Learning-rate schedules: linear warmup from lr/warmup to lr, then linear decay to min_lr at
// the last step (MeRino / Pythia), cosine decay to min_lr (MobileLLM), or constant.
#pragma once
#include <cstdint>

namespace merino {

enum class ScheduleKind { Linear, Cosine, Constant };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Linear;
  double lr = 6e-4;
  double min_lr = 0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
};

// learning rate for 0-based `step`
double learning_rate(const Schedule& s, int64_t step);

}  // namespace merino

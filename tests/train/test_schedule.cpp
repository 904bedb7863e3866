// Learning-rate schedules at chosen steps, against values worked out by hand.
#include <gtest/gtest.h>

#include "train/schedule.h"

using merino::learning_rate;
using merino::Schedule;
using merino::ScheduleKind;

namespace {

Schedule make(ScheduleKind kind) {
  Schedule s;
  s.kind = kind;
  s.lr = 6e-4;
  s.min_lr = 6e-5;
  s.warmup_steps = 10;
  s.total_steps = 110;  // decay spans steps 10..109 (99 intervals)
  return s;
}

}  // namespace

TEST(schedule, WarmupIsLinearFromLrOverWarmup) {
  for (auto kind : {ScheduleKind::Linear, ScheduleKind::Cosine, ScheduleKind::Constant}) {
    const Schedule s = make(kind);
    EXPECT_DOUBLE_EQ(learning_rate(s, 0), 6e-5);  // 6e-4 * 1/10
    EXPECT_DOUBLE_EQ(learning_rate(s, 4), 3e-4);  // 6e-4 * 5/10
    EXPECT_DOUBLE_EQ(learning_rate(s, 9), 6e-4);
  }
}

TEST(schedule, LinearDecaysToMinLrAtTheLastStep) {
  const Schedule s = make(ScheduleKind::Linear);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 6e-4);
  // halfway through 99 intervals is not a step; step 59 is 49/99 of the way
  EXPECT_NEAR(learning_rate(s, 59), 6e-5 + 5.4e-4 * (1.0 - 49.0 / 99.0), 1e-15);
  EXPECT_NEAR(learning_rate(s, 109), 6e-5, 1e-15);
  EXPECT_NEAR(learning_rate(s, 500), 6e-5, 1e-15);  // past the end stays at min_lr
}

TEST(schedule, CosineIsHalfwayAtTheMidpoint) {
  Schedule s = make(ScheduleKind::Cosine);
  s.total_steps = 111;  // 100 decay intervals: step 60 is the midpoint
  EXPECT_NEAR(learning_rate(s, 60), (6e-4 + 6e-5) / 2, 1e-15);
  EXPECT_NEAR(learning_rate(s, 110), 6e-5, 1e-15);
  // a quarter of the way: min + (max - min) * (1 + cos(pi/4)) / 2
  EXPECT_NEAR(learning_rate(s, 35), 6e-5 + 5.4e-4 * (1 + 0.70710678118654752) / 2, 1e-15);
}

TEST(schedule, ConstantAfterWarmup) {
  const Schedule s = make(ScheduleKind::Constant);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 6e-4);
  EXPECT_DOUBLE_EQ(learning_rate(s, 109), 6e-4);
}

TEST(schedule, NoWarmupStartsAtLr) {
  Schedule s = make(ScheduleKind::Linear);
  s.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0), 6e-4);
}

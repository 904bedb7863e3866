// ProgressLine's text and its rate limiting, on an injected clock: the expected lines are
// worked out by hand from the counts and times given (no sleeps, no real time).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/progress_line.h"

namespace merino {
namespace {

struct progress_line : ::testing::Test {
  double now = 1000;  // seconds; the line measures from its creation
  std::vector<std::string> written;
  ProgressOutput output(bool terminal) {
    return {terminal, [this](const std::string& s) { written.push_back(s); },
            [this] { return now; }};
  }
};

TEST_F(progress_line, terminal_line_with_rate_and_eta) {
  ProgressLine line("eval wikitext2", "windows", output(true));
  now += 10;
  line.update(20, 100, "2345 tok/s");  // 2 windows/s, 80 left: 40 s
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(
      written[0],
      "\r\033[Keval wikitext2: 20/100 windows (20.0%), 2.00 windows/s, ETA 0m40s, 2345 tok/s");
}

TEST_F(progress_line, terminal_redraws_at_most_every_half_second) {
  ProgressLine line("search", "iterations", output(true));
  line.update(0, 10);  // at once: the first state is shown immediately
  now += 0.3;
  line.update(1, 10);
  now += 0.19;
  line.update(2, 10);
  EXPECT_EQ(written.size(), 1u);
  now += 0.01;  // 0.5 s after the first draw
  line.update(3, 10);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[1], "\r\033[Ksearch: 3/10 iterations (30.0%), 6.00 iterations/s, ETA 0m01s");
}

TEST_F(progress_line, final_line_always_drawn_and_ended) {
  ProgressLine line("prepare", "MB", output(true), 1);
  line.update(1.25, 4);
  now += 0.1;  // inside the redraw interval: finish draws anyway
  line.finish(4, 4, "12 docs");
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[1], "\r\033[Kprepare: 4.0/4.0 MB (100.0%), 40.0 MB/s, took 0m00s, 12 docs\n");
}

TEST_F(progress_line, not_a_terminal_writes_a_plain_line_every_half_minute) {
  {
    ProgressLine line("train", "steps", output(false));
    for (int s = 1; s <= 100; ++s) {  // one step a second
      now += 1;
      line.update(s, 100);
    }
    // at 30 s and 60 s and 90 s only, each a line of its own
    ASSERT_EQ(written.size(), 3u);
    EXPECT_EQ(written[0], "train: 30/100 steps (30.0%), 1.00 steps/s, ETA 1m10s\n");
    EXPECT_EQ(written[2], "train: 90/100 steps (90.0%), 1.00 steps/s, ETA 0m10s\n");
    line.finish(100, 100);
    ASSERT_EQ(written.size(), 4u);
    EXPECT_EQ(written[3], "train: 100/100 steps (100.0%), 1.00 steps/s, took 1m40s\n");
  }
  EXPECT_EQ(written.size(), 4u);  // nothing left open to end
}

TEST_F(progress_line, short_job_off_a_terminal_writes_only_its_final_line) {
  ProgressLine line("eval ptb", "windows", output(false));
  now += 5;
  line.update(5, 10);
  now += 5;
  line.finish(10, 10);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], "eval ptb: 10/10 windows (100.0%), 1.00 windows/s, took 0m10s\n");
}

TEST_F(progress_line, unknown_total_has_no_percentage_or_eta) {
  ProgressLine line("search", "iterations", output(true));
  now += 4;
  line.update(2, 0);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], "\r\033[Ksearch: 2 iterations, 0.50 iterations/s");
}

TEST_F(progress_line, resumed_work_is_left_out_of_the_rate) {
  ProgressLine line("train", "steps", output(true));
  line.resumed_from(500);
  now += 100;
  line.update(600, 1000);  // 100 steps in 100 s here, 400 to go
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], "\r\033[Ktrain: 600/1000 steps (60.0%), 1.00 steps/s, ETA 6m40s");
}

TEST_F(progress_line, break_line_and_unwinding_end_an_open_line_once) {
  {
    ProgressLine line("prepare", "MB", output(true), 1);
    line.update(1, 2);
    line.break_line();
    line.break_line();
    EXPECT_EQ(written.back(), "\n");
    line.update(1.5, 2);  // inside the interval: nothing
    now += 0.5;
    line.update(2, 2);  // drawn again, left open
  }
  ASSERT_EQ(written.size(), 4u);
  EXPECT_EQ(written[3], "\n");  // the destructor ended it
}

}  // namespace
}  // namespace merino

// The progress line of every long command (prepare, search, eval, train), so all of them redraw
// at one rate and look alike:
//   "eval wikitext2: 120/356 windows (33.7%), 4.20 windows/s, ETA 0m56s, 2345 tok/s"
// On a terminal the line is redrawn in place ('\r') at most every kRedrawSeconds. Anywhere else
// (a log file, CI) it is a plain line at most every kLogSeconds, so logs get a heartbeat rather
// than a flood, and a job shorter than that writes only its final line. finish() always writes
// the final state ("..., took 1m24s") and ends the line. Rate and ETA are measured from the
// line's creation (or resumed_from()), shown when the caller gives a total.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace merino {

// Where a progress line goes; tests inject the writer and the clock.
struct ProgressOutput {
  bool terminal = false;                          // redraw in place; otherwise plain lines
  std::function<void(const std::string&)> write;  // emits (and flushes) the bytes
  std::function<double()> now;                    // seconds on a monotonic clock
};

// To `file`, a terminal when isatty() says so, timed by std::chrono::steady_clock.
ProgressOutput progress_output(std::FILE* file);
// As progress_output(), with the terminal flag given (the trainer redraws only on one rank).
ProgressOutput progress_output(std::FILE* file, bool terminal);

class ProgressLine {
 public:
  static constexpr double kRedrawSeconds = 0.5;
  static constexpr double kLogSeconds = 30;

  // label: "eval wikitext2"; unit: what done/total count ("windows", "MB"); decimals: of the
  // counts (1 for megabytes, 0 for things counted)
  ProgressLine(std::string label, std::string unit, ProgressOutput out, int decimals = 0);
  // ends an in-place line, so an error printed while unwinding starts on its own line
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // work done before this run (a resumed job), left out of the rate
  void resumed_from(double done);
  // total <= 0: unknown (no percentage or ETA). detail: the caller's figures, appended.
  void update(double done, double total, const std::string& detail = "");
  // the final line, always written
  void finish(double done, double total, const std::string& detail = "");
  // ends an in-place line (left visible) before other output on the same stream
  void break_line();

 private:
  std::string text(double done, double total, const std::string& detail, double now,
                   bool last) const;
  void draw(const std::string& line, bool last);

  std::string label_, unit_;
  ProgressOutput out_;
  int decimals_;
  double start_, start_done_ = 0;
  double last_draw_ = 0;
  bool drawn_ = false;  // anything written yet
  bool open_ = false;   // an in-place line without its newline
};

}  // namespace merino

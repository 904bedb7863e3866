#include "base/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/text_format.h"

namespace merino {
namespace {

std::string fixed(double x, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

// three significant figures or so, without an exponent: 1234 -> "1234", 12.3, 0.123 -> "0.12"
std::string rate_text(double r) { return fixed(r, r >= 100 ? 0 : r >= 10 ? 1 : 2); }

}  // namespace

ProgressOutput progress_output(std::FILE* file, bool terminal) {
  ProgressOutput o;
  o.terminal = terminal;
  o.write = [file](const std::string& s) {
    std::fputs(s.c_str(), file);
    std::fflush(file);
  };
  o.now = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  return o;
}

ProgressOutput progress_output(std::FILE* file) {
  return progress_output(file, ::isatty(::fileno(file)) != 0);
}

ProgressLine::ProgressLine(std::string label, std::string unit, ProgressOutput out, int decimals)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      out_(std::move(out)),
      decimals_(decimals),
      start_(out_.now()) {}

ProgressLine::~ProgressLine() { break_line(); }

void ProgressLine::resumed_from(double done) { start_done_ = done; }

void ProgressLine::update(double done, double total, const std::string& detail) {
  const double now = out_.now();
  // a plain line first after one interval, so a short job writes only its final line
  const double since = drawn_ ? last_draw_ : out_.terminal ? now - kRedrawSeconds : start_;
  if (now - since < (out_.terminal ? kRedrawSeconds : kLogSeconds)) return;
  last_draw_ = now;
  draw(text(done, total, detail, now, false), false);
}

void ProgressLine::finish(double done, double total, const std::string& detail) {
  const double now = out_.now();
  last_draw_ = now;
  draw(text(done, total, detail, now, true), true);
}

void ProgressLine::break_line() {
  if (!open_) return;
  out_.write("\n");
  open_ = false;
}

void ProgressLine::draw(const std::string& line, bool last) {
  drawn_ = true;
  if (!out_.terminal) {
    out_.write(line + "\n");
    return;
  }
  // "\033[K" clears what a longer previous line left to the right
  out_.write("\r\033[K" + line + (last ? "\n" : ""));
  open_ = !last;
}

std::string ProgressLine::text(double done, double total, const std::string& detail, double now,
                               bool last) const {
  std::string s = label_ + ": " + fixed(done, decimals_);
  if (total > 0) s += "/" + fixed(total, decimals_);
  s += " " + unit_;
  if (total > 0) s += " (" + fixed(100.0 * done / total, 1) + "%)";
  const double seconds = now - start_;
  const double rate = seconds > 0 ? (done - start_done_) / seconds : 0;
  if (rate > 0) s += ", " + rate_text(rate) + " " + unit_ + "/s";
  if (last)
    s += ", took " + duration(seconds);
  else if (total > 0 && rate > 0)
    s += ", ETA " + duration(std::max(0.0, total - done) / rate);
  if (!detail.empty()) s += ", " + detail;
  return s;
}

}  // namespace merino

#include "eval/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace merino::eval {

std::function<void(size_t, size_t, uint64_t)> make_progress_line(const std::string& label, const std::string& unit) {
  if (!::isatty(STDERR_FILENO)) return {};
  using clock = std::chrono::steady_clock;
  const clock::time_point start = clock::now();
  clock::time_point last_draw{};
  return [=](size_t done, size_t total, uint64_t tokens) mutable {
    const clock::time_point now = clock::now();
    if (done < total && now - last_draw < std::chrono::milliseconds(250)) return;
    last_draw = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "\reval %s: %zu/%zu %s (%.1f%%), %.0f tok/s ", label.c_str(), done, total, unit.c_str(),
                 100.0 * double(done) / double(total), seconds > 0 ? double(tokens) / seconds : 0.0);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace merino::eval

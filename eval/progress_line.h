// "eval wikitext2: 120/356 windows (33.7%), 2345 tok/s", redrawn in place on stderr at most a
// few times a second. Only when stderr is a terminal: logs and pipes get no carriage returns.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace merino::eval {

// The callback to hand to EvalOptions::progress, or an empty function when stderr is not a
// terminal.
// unit: what `done` and `total` count ("windows", "requests").
std::function<void(size_t done, size_t total, uint64_t tokens)> make_progress_line(const std::string& label,
                                                                            const std::string& unit = "windows");

}  // namespace merino::eval

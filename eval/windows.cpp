#include "eval/windows.h"

#include <algorithm>
#include <stdexcept>

namespace merino::eval {

std::vector<Window> plan_windows(size_t n_tokens, int context, int stride) {
  if (context < 1 || stride < 1 || stride > context)
    throw std::invalid_argument("plan_windows: need context >= 1 and 1 <= stride <= context");
  std::vector<Window> windows;
  if (n_tokens == 0) return windows;
  const size_t L = size_t(context);
  const size_t first = std::min(L, n_tokens);
  windows.push_back({0, int(first), int(first)});
  // `end`: tokens scored so far, which is also the X index of the last token scored so far
  for (size_t end = first; end < n_tokens;) {
    const size_t scored = std::min(size_t(stride), n_tokens - end);
    end += scored;
    // end > L here, since the first window already scored min(L, n) < end tokens
    windows.push_back({end - L, int(L), int(scored)});
  }
  return windows;
}

}  // namespace merino::eval

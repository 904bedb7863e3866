// Numbers as people read them in progress lines and reports.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace merino {

// 124439808 -> "124,439,808"
inline std::string grouped(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

// seconds -> "7m05s" or "2h13m"
inline std::string duration(double seconds) {
  const long long s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  return buf;
}

}  // namespace merino

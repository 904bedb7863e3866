#include "search/units.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/errors.h"

namespace merino::search {

double parse_amount(const std::string& option, const std::string& text,
                    const std::string& examples) {
  const auto bad = [&] {
    return ConfigError(option + ": '" + text + "' is not a positive amount like " + examples);
  };
  // strtod alone would also take "inf", "nan", hex and leading spaces
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
    throw bad();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str()) throw bad();
  if (*end != '\0') {
    switch (std::toupper(static_cast<unsigned char>(*end))) {
      case 'K': v *= 1e3; break;
      case 'M': v *= 1e6; break;
      case 'G': v *= 1e9; break;
      case 'T': v *= 1e12; break;
      default: throw bad();
    }
    if (end[1] != '\0') throw bad();
  }
  if (!std::isfinite(v) || v <= 0) throw bad();
  return v;
}

double parse_weight(const std::string& option, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0.") == std::string::npos &&
      text.find_first_of('0') != std::string::npos && text.find('.') == text.rfind('.'))
    return 0;  // "0", "0.0", ".0"
  return parse_amount(option, text, "0, 0.5 or 1");
}

long long parse_integer(const std::string& option, const std::string& text, long long min,
                        long long max) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  const bool digits = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
                                        (text[0] == '-' && text.size() > 1));
  if (!digits || errno != 0 || *end != '\0' || v < min || v > max)
    throw ConfigError(option + ": '" + text + "' is not an integer from " + std::to_string(min) +
                      " to " + std::to_string(max));
  return v;
}

}  // namespace merino::search

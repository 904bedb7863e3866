// Command-line numbers for `merino search`: budgets like 64M or 1.5G and plain integers. Bad
// text throws ConfigError naming the option, so the CLI prints one line and exits 2.
#pragma once
#include <string>

namespace merino::search {

// A positive finite number with an optional decimal multiplier K, M, G or T (any case):
// "64M" = 64e6, "1.5G" = 1.5e9, "50" = 50. The error message shows `examples`.
double parse_amount(const std::string& option, const std::string& text,
                    const std::string& examples = "64M, 1.5G or 250000");
// 0 or a positive amount as parse_amount takes it: a weight that may switch a term off.
double parse_weight(const std::string& option, const std::string& text);
long long parse_integer(const std::string& option, const std::string& text, long long min,
                        long long max);

}  // namespace merino::search

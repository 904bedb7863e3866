// The per-task text rules of lm-evaluation-harness that are more than a template
// (LM_EVAL_ZERO_SHOT.md section 9), with Python's string semantics.
#pragma once
#include <string>
#include <string_view>

namespace merino::eval {

// HellaSwag's preprocess: strip; " [title]" -> ". "; delete every non-greedy "[...]" not spanning
// a newline; "  " -> " " in one pass. No strip afterwards.
std::string hellaswag_preprocess(std::string_view text);

// lm-eval's general_detokenize (WSC's passage).
std::string general_detokenize(std::string_view text);

// s[n:] with n counted in code points.
std::string_view drop_code_points(std::string_view s, size_t n);

// s.lstrip()
std::string_view python_lstrip(std::string_view s);

}  // namespace merino::eval

#include "eval/request_tokens.h"

#include <algorithm>

#include "base/errors.h"
#include "eval/python_text.h"

namespace merino::eval {

TokenRequest tokenize_request(const Tokenizer& tokenizer, std::string context, std::string continuation,
                              int32_t prefix) {
  // HF tokenizers turn special tokens written in the text into their ids by default
  constexpr bool kAllowSpecial = true;
  if (const size_t k = python_trailing_space_bytes(context); k > 0) {
    continuation = context.substr(context.size() - k) + continuation;
    context.resize(context.size() - k);
  }
  TokenRequest r;
  if (context.empty()) {
    r.context = {prefix};
    r.continuation = tokenizer.encode(continuation, kAllowSpecial);
    if (!r.continuation.empty() && r.continuation.front() == prefix) r.continuation.erase(r.continuation.begin());
  } else {
    const std::vector<int32_t> whole = tokenizer.encode(context + continuation, kAllowSpecial);
    r.context = tokenizer.encode(context, kAllowSpecial);
    r.continuation.assign(whole.begin() + std::min(whole.size(), r.context.size()), whole.end());
  }
  if (r.continuation.empty())
    throw DataError("request with context \"" + context.substr(0, 60) + "\" has a continuation of no tokens");
  return r;
}

}  // namespace merino::eval

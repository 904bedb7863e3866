// One (context, continuation) request turned into the token ids lm-evaluation-harness's HF
// backend scores (LM_EVAL_ZERO_SHOT.md section 4): trailing whitespace of the context moves to
// the front of the continuation; the continuation's tokens are what follows the context's in
// the encoding of the joined string, not the continuation encoded alone; an empty context is
// replaced by the prefix token. No BOS/EOS is added otherwise.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer/tokenizer.h"

namespace merino::eval {

struct TokenRequest {
  std::vector<int32_t> context, continuation;
};

// prefix: the token an empty context is replaced by (the tokenizer's BOS, else its EOS).
// Throws DataError when the continuation comes out empty (lm-eval asserts it is not).
TokenRequest tokenize_request(const Tokenizer& tokenizer, std::string context, std::string continuation,
                              int32_t prefix);

}  // namespace merino::eval

// Which model inputs score a document's tokens. The document is scored as the sequence
// X = [prefix] + tokens, where the model predicts X[i + 1] from X[0..i], so every token has at
// least the prefix (<|endoftext|>) as context.
//
// The first window is X[0, min(L, n)) and scores all its positions. Each later window scores the
// next min(stride, remaining) tokens and is the L inputs ending just before the last of them, so
// it sees L - scored earlier tokens as extra context. With stride == L this is exactly
// lm-evaluation-harness's loglikelihood_rolling (get_rolling_token_windows with context_len 1,
// then make_disjoint_window): full blocks of L tokens, each conditioned on the token before it,
// and a right-aligned last window. Smaller strides give every scored token more context at the
// cost of more windows. Every token is scored exactly once either way.
#pragma once
#include <cstddef>
#include <vector>

namespace merino::eval {

struct Window {
  size_t start = 0;  // input X[start, start + length); targets X[start + 1, start + length + 1)
  int length = 0;    // <= L
  int scored = 0;    // only the last `scored` targets count
};

// n_tokens: the document's tokens (the prefix not counted); context L >= 1; 1 <= stride <= L.
// An empty document has no windows.
std::vector<Window> plan_windows(size_t n_tokens, int context, int stride);

}  // namespace merino::eval

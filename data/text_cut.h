// Where a long text may be cut into pieces that are tokenized separately with exactly the ids
// the whole text would get. GPT-2's pre-tokenizer pattern (also NeoX's) never joins across such
// a cut, so encode(a + b) == encode(a) + encode(b). This lets `merino prepare` stream a large
// plain-text file and tokenize its pieces in parallel without changing a single id.
#pragma once
#include <cstddef>
#include <string_view>

namespace merino {

// The first safe cut p with from <= p < text.size() - 1, or npos. p is safe when text[p-1] is
// '\n' and either
//  - text[p] is ' ' and text[p+1] is printable ASCII other than space: the whitespace run ending
//    in the '\n' is one pre-token either way (`\s+(?!\S)` backs off the single space), or
//  - text[p-2] and text[p] are printable ASCII other than space: the '\n' stands alone either way.
// Only ASCII is inspected, so no multi-byte character (or Unicode space) can be misjudged, and
// no run of spaces (NeoX's added tokens) touches the cut.
size_t find_safe_cut(std::string_view text, size_t from);

}  // namespace merino

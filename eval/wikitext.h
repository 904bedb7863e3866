// lm-evaluation-harness's `wikitext` task text: the raw WikiText file split into articles
// (its v0.3.0 dataset loader, identical to the hosted EleutherAI/wikitext_document_level data)
// and the detokenizer that turns an article into the text the model scores
// (lm_eval/tasks/wikitext/preprocess_wikitext.py). Step by step in docs/EVAL.md.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace merino::eval {

// Splits at top-level headings (" = Title = "); each document starts with its heading line and
// keeps its trailing blank lines. Whitespace-only text before the first heading is dropped.
std::vector<std::string> split_wikitext_documents(std::string_view raw);

// lm-eval's wikitext_detokenizer, applied to one document.
std::string wikitext_detokenize(std::string_view page);

}  // namespace merino::eval

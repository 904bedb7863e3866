// Evaluation tasks: which text the model scores, document by document, and the word and byte
// counts the per-word and per-byte metrics divide by.
//   wikitext2, wikitext2-valid  lm-eval's `wikitext` task on wiki.{test,valid}.raw: articles,
//                               detokenized; words and bytes counted on the original article.
//   ptb                         Mikolov's ptb.test.txt as one document, scored as it is; words
//                               are whitespace words plus one <eos> per line, the 82,430 units
//                               word-level PTB perplexities are quoted over.
//   text:FILE                   the file as one document, scored as it is; words and bytes as
//                               lm-eval counts them for its raw-text tasks (paloma, pile).
// Built-in tasks find their file through the data lookup (data/data_paths.h: --data-dir first)
// and check its sha256, since numbers from any other version of the file would not be
// comparable with published ones.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace merino::eval {

struct TaskDocument {
  std::string text;  // what the model scores
  uint64_t words = 0, bytes = 0;
};

struct EvalTask {
  std::string name;       // wikitext2, wikitext2-valid, ptb, text
  int version = 0;        // bumped whenever a change could change a metric
  std::string reference;  // the protocol the numbers are comparable with
  std::string word_count; // how `words` is counted
  std::string file, sha256;
  std::vector<TaskDocument> documents;
};

// The whole file; DataError naming it when it is missing or cannot be read.
std::string read_text_file(const std::string& path);

// Throws ConfigError for an unknown task name and DataError naming the file when it is missing
// (with the `merino fetch` that gets it), unreadable or not the expected version. `data_dir` is
// the command's --data-dir, or "".
EvalTask load_task(const std::string& spec, const std::string& data_dir = "");

}  // namespace merino::eval

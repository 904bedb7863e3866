#include "eval/tasks.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/errors.h"
#include "base/sha256.h"
#include "data/data_paths.h"
#include "eval/python_text.h"
#include "eval/wikitext.h"

namespace merino::eval {
namespace {

constexpr int kTaskVersion = 1;

// The file, checked against the published sha256 of the canonical release.
std::string read_canonical(const std::string& path, const char* expected_sha256, EvalTask& task) {
  std::string text = read_text_file(path);
  task.file = path;
  task.sha256 = sha256_hex(text);
  if (task.sha256 != expected_sha256)
    throw DataError(path + ": sha256 " + task.sha256 + " is not the canonical file's " +
                    expected_sha256 + " (see docs/DATA.md)");
  return text;
}

EvalTask wikitext(const std::string& data_dir, const std::string& split, const char* sha256) {
  EvalTask task;
  task.name = split == "test" ? "wikitext2" : "wikitext2-" + split;
  task.version = kTaskVersion;
  task.reference = "lm-evaluation-harness task `wikitext` v2.0 (wikitext-2-raw-v1, " + split +
                   " split): word_perplexity, byte_perplexity, bits_per_byte";
  task.word_count = "len(re.split(r'\\s+', article)) on the original article";
  const std::string raw =
      read_canonical(require_data_file("wikitext-2-raw/wiki." + split + ".raw", data_dir), sha256, task);
  for (std::string& page : split_wikitext_documents(raw))
    task.documents.push_back({wikitext_detokenize(page), count_regex_split_fields(page), page.size()});
  return task;
}

EvalTask ptb(const std::string& data_dir) {
  EvalTask task;
  task.name = "ptb";
  task.version = kTaskVersion;
  task.reference = "Penn Treebank (Mikolov) test: word perplexity over its 82,430 words and <eos> markers";
  task.word_count = "whitespace words + one <eos> per line";
  std::string text = read_canonical(require_data_file("ptb/ptb.test.txt", data_dir),
                                    "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", task);
  uint64_t lines = 0;
  for (char c : text) lines += c == '\n';
  const uint64_t words = count_words(text) + lines, bytes = text.size();
  task.documents.push_back({std::move(text), words, bytes});
  return task;
}

EvalTask text_file(const std::string& path) {
  EvalTask task;
  task.name = "text";
  task.version = kTaskVersion;
  task.reference = "lm-evaluation-harness loglikelihood_rolling over the raw text (as its paloma / pile tasks)";
  task.word_count = "len(re.split(r'\\s+', text))";
  std::string text = read_text_file(path);
  if (text.empty()) throw DataError(path + ": empty file, nothing to score");
  task.file = path;
  task.sha256 = sha256_hex(text);
  const uint64_t words = count_regex_split_fields(text), bytes = text.size();
  task.documents.push_back({std::move(text), words, bytes});
  return task;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open: " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path + ": read error");
  return text;
}

EvalTask load_task(const std::string& spec, const std::string& data_dir) {
  if (spec == "wikitext2")
    return wikitext(data_dir, "test", "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08");
  if (spec == "wikitext2-valid")
    return wikitext(data_dir, "valid", "4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7");
  if (spec == "ptb") return ptb(data_dir);
  if (spec.rfind("text:", 0) == 0 && spec.size() > 5) return text_file(spec.substr(5));
  throw ConfigError("--task " + spec + ": unknown task (expected wikitext2, wikitext2-valid, ptb, text:FILE or zero-shot tasks, see docs/EVAL.md)");
}

}  // namespace merino::eval

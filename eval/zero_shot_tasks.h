// The zero-shot tasks of MeRino, MobileLLM, OPT and Pythia, each written as data the way
// lm-evaluation-harness writes them (doc_to_text, doc_to_choice, doc_to_target over the rows of
// the task's Hugging Face split), read from the original release files or an HF export.
// Every rule is LM_EVAL_ZERO_SHOT.md section 9 (shared/data/zero-shot/); the scoring engine is
// loglikelihood.h, the metrics zero_shot_metrics.h.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "eval/json_rows.h"

namespace merino::eval {

enum class OutputType { MultipleChoice, Loglikelihood };

// One document's requests: (context(i), continuation(i)) for i < num_requests().
struct ZeroShotDoc {
  std::vector<std::string> contexts;       // one, or one per choice (WinoGrande's options)
  std::vector<std::string> continuations;  // one per choice with the " " delimiter, or one shared
  std::vector<std::string> choices;        // acc_norm divides choice i's ll by len(choices[i])
  int gold = -1;                           // the correct choice; -1 for LAMBADA

  size_t num_requests() const { return std::max(contexts.size(), continuations.size()); }
  const std::string& context(size_t i) const { return contexts.size() == 1 ? contexts[0] : contexts[i]; }
  const std::string& continuation(size_t i) const {
    return continuations.size() == 1 ? continuations[0] : continuations[i];
  }
};

struct ZeroShotTaskInfo {
  std::string name;       // lm-eval's task name
  double version = 0;     // lm-eval's metadata.version
  OutputType type = OutputType::MultipleChoice;
  bool acc_norm = false;  // acc_norm is in lm-eval's metric list
  bool f1 = false;        // CB's macro-F1
  std::string split;      // the HF split lm-eval evaluates
  size_t rows = 0;        // documents in that split
  std::string files;      // the file names accepted in the task's directory
  std::string source;     // where to get them
};

struct ZeroShotTask {
  ZeroShotTaskInfo info;
  std::string file;            // the file(s) read
  std::string content_sha256;  // of every document's requests and gold, in order
  bool verified = false;       // content_sha256 (or the file's) is the canonical split's
  std::vector<ZeroShotDoc> docs;
};

// Every task name, in the order `--task merino` and the summary table list them.
const std::vector<std::string>& zero_shot_task_names();
// MeRino's table: hellaswag, winogrande, openbookqa, arc_easy, arc_challenge, pubmedqa, logiqa,
// boolq, cb, wic, wsc, sglue_rte.
const std::vector<std::string>& merino_task_names();
bool is_zero_shot_task(const std::string& name);
const ZeroShotTaskInfo& zero_shot_task_info(const std::string& name);

// Where a task's files are: ROOT/zero-shot/TASK in the first data root (data/data_paths.h, with
// data_dir as --data-dir) that holds one of them; a --data-dir may also be the zero-shot folder
// itself (ROOT/TASK). Without any, the first root's ROOT/zero-shot/TASK, for messages. TASK is the
// task's name, except sglue_rte's folder rte. The one place the lookup is decided.
std::string zero_shot_task_dir(const std::string& data_dir, const std::string& task);

// Whether any of the task's accepted files is present.
bool zero_shot_data_present(const std::string& name, const std::string& data_dir);

// Reads and checks the whole split. Throws ConfigError for an unknown task, DataError naming the
// file for a missing file, a wrong format, a row without a needed field, a wrong number of rows
// or content that is not the canonical split's.
ZeroShotTask load_zero_shot_task(const std::string& name, const std::string& data_dir);

// One document from one HF-form row (the readers convert release rows to HF rows first);
// throws FieldError naming the missing field.
ZeroShotDoc make_zero_shot_doc(const std::string& name, const Row& hf_row);

}  // namespace merino::eval

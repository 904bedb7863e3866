#include "eval/zero_shot_tasks.h"

#include <filesystem>
#include <functional>

#include "base/errors.h"
#include "base/sha256.h"
#include "data/data_paths.h"
#include "eval/python_text.h"
#include "eval/tasks.h"
#include "eval/zero_shot_prompts.h"

namespace merino::eval {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// ---------------------------------------------------------------- field helpers

// An integer label given as a JSON number, a bool or a digit string (HF exports differ).
int int_field(const Row& row, const char* name) {
  const Row& v = field(row, name);
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string() && !v.get_ref<const std::string&>().empty() &&
      v.get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos)
    return std::stoi(v.get_ref<const std::string&>());
  throw FieldError(std::string("field \"") + name + "\" is not an integer label");
}

Strings str_list(const Row& v, const char* name) {
  if (!v.is_array()) throw FieldError(std::string("field \"") + name + "\" is not a list");
  Strings out;
  for (const Row& e : v) {
    if (!e.is_string()) throw FieldError(std::string("field \"") + name + "\" holds a non-string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// A string label mapped through `names` (its index), or already an index.
int named_label(const Row& row, const char* name, const Strings& names) {
  const Row& v = field(row, name);
  if (v.is_string())
    for (size_t i = 0; i < names.size(); ++i)
      if (v.get_ref<const std::string&>() == names[i]) return int(i);
  if (v.is_string() && v.get_ref<const std::string&>().find_first_not_of("0123456789") != std::string::npos)
    throw FieldError(std::string("field \"") + name + "\" is \"" + v.get<std::string>() + "\", not a known label");
  return int_field(row, name);
}

// lm-eval's gold for a string target: its position in the choices, or -100 when absent.
int index_of(const Strings& list, const std::string& value) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i] == value) return int(i);
  return -100;
}

std::string join(const Strings& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// ---------------------------------------------------------------- release rows -> HF rows

// ARC / OpenBookQA: {"question": {"stem", "choices": [{"text","label"}]}} -> HF's flat row.
Row arc_release_to_hf(Row row, const char* stem_key) {
  if (!row.contains("question") || !row["question"].is_object()) return row;
  const Row q = row["question"];
  Row choices = {{"text", Row::array()}, {"label", Row::array()}};
  for (const Row& c : field(q, "choices")) {
    choices["text"].push_back(str_field(c, "text"));
    choices["label"].push_back(str_field(c, "label"));
  }
  row.erase("question");
  row[stem_key] = str_field(q, "stem");
  row["choices"] = choices;
  return row;
}

// WSC: the nested target flattened, then the `wsc.fixed` span repair (protocol 9.11).
Row wsc_release_to_hf(Row row) {
  if (row.contains("target") && row["target"].is_object()) {
    for (const char* k : {"span1_index", "span1_text", "span2_index", "span2_text"})
      row[k] = field(row["target"], k);
    row.erase("target");
  }
  const std::string& text = str_field(row, "text");
  for (int k = 1; k <= 2; ++k) {
    const std::string span_key = "span" + std::to_string(k) + "_text";
    const std::string index_key = "span" + std::to_string(k) + "_index";
    std::string span = str_field(row, span_key.c_str());
    if (text.find(span) != std::string::npos || span == "Kamenev and Zinoviev" ||
        span == "Kamenev, Zinoviev, and Stalin")
      continue;
    if (span.find("theyscold") != std::string::npos) row["span2_index"] = 10;
    const std::vector<std::string_view> words = python_split(text);
    const int index = int_field(row, index_key.c_str());
    if (index < 0 || size_t(index) >= words.size()) throw FieldError(index_key + " is out of range");
    const char w0 = words[size_t(index)][0];
    if (!span.empty()) {
      const bool lower = w0 >= 'a' && w0 <= 'z';
      char& c = span[0];
      if (lower && c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
      if (!lower && c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    }
    while (!span.empty() && span.back() == '.') span.pop_back();
    row[span_key] = replace_all(span, "\n", " ");
  }
  return row;
}

// ---------------------------------------------------------------- file layouts

struct RowsRead {
  std::vector<Row> rows;
  std::string file;      // what was read, for messages and the JSON
  std::string raw_sha;   // sha256 of the one file read, when a single file
};

std::string existing(const std::string& dir, const Strings& names) {
  std::error_code ec;
  for (const std::string& n : names)
    if (fs::is_regular_file(dir + "/" + n, ec)) return dir + "/" + n;
  return {};
}

RowsRead read_rows_file(const std::string& path) {
  RowsRead r;
  r.rows = read_json_rows(path);
  r.file = path;
  r.raw_sha = sha256_hex(read_text_file(path));
  return r;
}

// PIQA's valid.jsonl + valid-labels.lst (one 0/1 per line, aligned by line).
RowsRead read_piqa(const std::string& path) {
  RowsRead r = read_rows_file(path);
  if (fs::path(path).filename() != "valid.jsonl") return r;
  const std::string labels_path = (fs::path(path).parent_path() / "valid-labels.lst").string();
  const std::string labels = read_text_file(labels_path);
  size_t i = 0, line = 0;
  for (size_t b = 0; b < labels.size(); ++line) {
    size_t e = labels.find('\n', b);
    if (e == std::string::npos) e = labels.size();
    const std::string_view label = python_strip(std::string_view(labels).substr(b, e - b));
    b = e + 1;
    if (label.empty()) continue;
    if (label != "0" && label != "1")
      throw DataError(labels_path + ": line " + std::to_string(line + 1) + ": label is not 0 or 1");
    if (i >= r.rows.size()) throw DataError(labels_path + ": more labels than rows in " + path);
    r.rows[i++]["label"] = label == "1" ? 1 : 0;
  }
  if (i != r.rows.size()) throw DataError(labels_path + ": " + std::to_string(i) + " labels for " +
                                          std::to_string(r.rows.size()) + " rows in " + path);
  r.file += " + " + labels_path;
  r.raw_sha.clear();
  return r;
}

// PubMedQA: ori_pqal.json rows in test_ground_truth.json's key order (protocol 9.6).
RowsRead read_pubmedqa(const std::string& path) {
  if (fs::path(path).filename() != "ori_pqal.json") return read_rows_file(path);
  const std::string truth_path = (fs::path(path).parent_path() / "test_ground_truth.json").string();
  const Row all = read_json_file(path), truth = read_json_file(truth_path);
  if (!all.is_object()) throw DataError(path + ": not a JSON object keyed by PMID");
  if (!truth.is_object()) throw DataError(truth_path + ": not a JSON object keyed by PMID");
  RowsRead r;
  for (const auto& [pmid, answer] : truth.items()) {
    if (!all.contains(pmid)) throw DataError(path + ": no entry for PMID " + pmid + " of " + truth_path);
    Row row = all.at(pmid);
    row["pubid"] = pmid;
    r.rows.push_back(std::move(row));
  }
  r.file = path + " + " + truth_path;
  return r;
}

// LogiQA's Test.txt: blank-line separated records of 7 lines (protocol 9.7).
RowsRead read_logiqa(const std::string& path) {
  if (fs::path(path).extension() != ".txt") return read_rows_file(path);
  const std::string text = read_text_file(path);
  const std::string body(python_strip(text));
  auto norm = [](std::string_view t) { return std::string(python_strip(replace_all(t, ".", ". "))); };
  RowsRead r;
  r.file = path;
  r.raw_sha = sha256_hex(text);
  size_t record = 0;
  for (size_t b = 0; b <= body.size(); ++record) {
    size_t e = body.find("\n\n", b);
    if (e == std::string::npos) e = body.size();
    Strings lines;
    const std::string rec = body.substr(b, e - b);
    for (size_t lb = 0;;) {
      const size_t le = rec.find('\n', lb);
      lines.push_back(rec.substr(lb, le == std::string::npos ? std::string::npos : le - lb));
      if (le == std::string::npos) break;
      lb = le + 1;
    }
    b = e + 2;
    if (lines.size() < 4)
      throw DataError(path + ": record " + std::to_string(record + 1) + " has " + std::to_string(lines.size()) +
                      " lines, expected the answer, passage, question and options");
    Row row = {{"label", std::string(python_strip(lines[0]))}, {"context", norm(lines[1])},
               {"question", norm(lines[2])}, {"options", Row::array()}};
    for (size_t k = 3; k < lines.size(); ++k) row["options"].push_back(norm(drop_code_points(lines[k], 2)));
    r.rows.push_back(std::move(row));
  }
  return r;
}

// ---------------------------------------------------------------- the tasks, as data

struct TaskDefinition {
  ZeroShotTaskInfo info;
  Strings file_names;                                  // looked for in this order
  std::function<RowsRead(const std::string&)> read;    // the file found -> HF rows
  std::function<ZeroShotDoc(const Row&)> make_doc;     // doc_to_text / choice / target
  std::string content_sha256;                          // of the canonical split's requests; "" unknown
  std::string release_sha256;                          // of the original file, where published
};

ZeroShotDoc multiple_choice(std::string context, Strings choices, int gold) {
  ZeroShotDoc d;
  d.contexts = {std::move(context)};
  for (const std::string& c : choices) d.continuations.push_back(" " + c);
  d.choices = std::move(choices);
  d.gold = gold;
  return d;
}

ZeroShotDoc arc_doc(const Row& raw) {
  const Row row = arc_release_to_hf(raw, "question");
  const Row& choices = field(row, "choices");
  const Strings texts = str_list(field(choices, "text"), "choices.text");
  const Strings labels = str_list(field(choices, "label"), "choices.label");
  return multiple_choice("Question: " + str_field(row, "question") + "\nAnswer:", texts,
                         index_of(labels, str_field(row, "answerKey")));
}

ZeroShotDoc openbookqa_doc(const Row& raw) {
  const Row row = arc_release_to_hf(raw, "question_stem");
  const Row& choices = field(row, "choices");
  const Strings labels = str_list(field(choices, "label"), "choices.label");
  return multiple_choice(str_field(row, "question_stem"), str_list(field(choices, "text"), "choices.text"),
                         index_of(labels, std::string(python_lstrip(str_field(row, "answerKey")))));
}

ZeroShotDoc hellaswag_doc(const Row& row) {
  const std::string ctx = str_field(row, "ctx_a") + " " + python_capitalize(str_field(row, "ctx_b"));
  Strings choices;
  for (const std::string& e : str_list(field(row, "endings"), "endings")) choices.push_back(hellaswag_preprocess(e));
  return multiple_choice(hellaswag_preprocess(str_field(row, "activity_label") + ": " + ctx), choices,
                         int_field(row, "label"));
}

ZeroShotDoc winogrande_doc(const Row& row) {
  const std::string& sentence = str_field(row, "sentence");
  const size_t i = sentence.find('_');
  if (i == std::string::npos) throw FieldError("field \"sentence\" has no \"_\"");
  ZeroShotDoc d;
  d.contexts = {sentence.substr(0, i) + str_field(row, "option1"), sentence.substr(0, i) + str_field(row, "option2")};
  d.continuations = {" " + std::string(python_strip(std::string_view(sentence).substr(i + 1)))};
  d.choices = d.contexts;
  const std::string& answer = str_field(row, "answer");
  if (answer != "1" && answer != "2") throw FieldError("field \"answer\" is not \"1\" or \"2\"");
  d.gold = answer == "1" ? 0 : 1;
  return d;
}

ZeroShotDoc piqa_doc(const Row& row) {
  return multiple_choice("Question: " + str_field(row, "goal") + "\nAnswer:",
                         {str_field(row, "sol1"), str_field(row, "sol2")}, int_field(row, "label"));
}

ZeroShotDoc pubmedqa_doc(const Row& row) {
  const Strings choices = {"yes", "no", "maybe"};
  return multiple_choice("Abstract: " + join(str_list(field(row, "CONTEXTS"), "CONTEXTS"), "\n") +
                             "\nQuestion: " + str_field(row, "QUESTION") + "\nAnswer:",
                         choices, index_of(choices, str_field(row, "final_decision")));
}

ZeroShotDoc logiqa_doc(const Row& row) {
  const Strings options = str_list(field(row, "options"), "options");
  if (options.size() != 4) throw FieldError("field \"options\" does not hold 4 options");
  std::string text = "Passage: " + str_field(row, "context") + "\nQuestion: " + str_field(row, "question") +
                     "\nChoices:\n";
  for (size_t k = 0; k < 4; ++k) text += std::string(1, char('A' + k)) + ". " + options[k] + "\n";
  return multiple_choice(text + "Answer:", options,
                         index_of({"a", "b", "c", "d"}, std::string(python_strip(str_field(row, "label")))));
}

ZeroShotDoc boolq_doc(const Row& row) {
  return multiple_choice(str_field(row, "passage") + "\nQuestion: " + str_field(row, "question") + "?\nAnswer:",
                         {"no", "yes"}, int_field(row, "label"));
}

ZeroShotDoc cb_doc(const Row& row) {
  return multiple_choice(str_field(row, "premise") + "\nQuestion: " + str_field(row, "hypothesis") +
                             ". True, False, or Neither?\nAnswer:",
                         {"True", "False", "Neither"},
                         named_label(row, "label", {"entailment", "contradiction", "neutral"}));
}

ZeroShotDoc wic_doc(const Row& row) {
  const std::string& s1 = str_field(row, "sentence1");
  const int start = int_field(row, "start1"), end = int_field(row, "end1");
  const std::string_view from = drop_code_points(s1, size_t(std::max(start, 0)));
  const std::string_view word = from.substr(0, from.size() - drop_code_points(from, size_t(std::max(end - start, 0))).size());
  return multiple_choice("Sentence 1: " + s1 + "\nSentence 2: " + str_field(row, "sentence2") +
                             "\nQuestion: Is the word '" + std::string(word) +
                             "' used in the same way in the two sentences above?\nAnswer:",
                         {"no", "yes"}, int_field(row, "label"));
}

ZeroShotDoc wsc_doc(const Row& raw) {
  const Row row = wsc_release_to_hf(raw);
  const std::string& text = str_field(row, "text");
  const std::string& span1 = str_field(row, "span1_text");
  const std::string& span2 = str_field(row, "span2_text");
  const std::vector<std::string_view> words = python_split(text);
  const size_t n = std::min(words.size(), size_t(std::max(int_field(row, "span2_index"), 0)));
  std::string pre;
  for (size_t k = 0; k < n; ++k) pre += (k ? " " : "") + std::string(words[k]);
  const std::string post(drop_code_points(text, code_point_count(pre) + code_point_count(span2) + 1));
  const std::string passage = general_detokenize(pre + " *" + span2 + "*" + post);
  return multiple_choice("Passage: " + passage + "\nQuestion: In the passage above, does the pronoun \"*" + span2 +
                             "*\" refer to \"*" + span1 + "*\"?\nAnswer:",
                         {"no", "yes"}, int_field(row, "label"));
}

ZeroShotDoc sglue_rte_doc(const Row& row) {
  return multiple_choice(str_field(row, "premise") + "\nQuestion: " + str_field(row, "hypothesis") +
                             " True or False?\nAnswer:",
                         {"True", "False"}, named_label(row, "label", {"entailment", "not_entailment"}));
}

ZeroShotDoc sciq_doc(const Row& row) {
  return multiple_choice(std::string(python_lstrip(str_field(row, "support"))) + "\nQuestion: " +
                             str_field(row, "question") + "\nAnswer:",
                         {str_field(row, "distractor1"), str_field(row, "distractor2"), str_field(row, "distractor3"),
                          str_field(row, "correct_answer")},
                         3);
}

ZeroShotDoc lambada_doc(const Row& row) {
  const std::string& text = str_field(row, "text");
  const size_t space = text.rfind(' ');
  ZeroShotDoc d;
  d.contexts = {space == std::string::npos ? std::string() : text.substr(0, space)};
  d.continuations = {" " + (space == std::string::npos ? text : text.substr(space + 1))};
  return d;
}

std::vector<TaskDefinition> with_file_lists(std::vector<TaskDefinition> defs) {
  for (TaskDefinition& d : defs) d.info.files = join(d.file_names, ", ");
  return defs;
}

const std::vector<TaskDefinition>& definitions() {
  using O = OutputType;
  static const std::vector<TaskDefinition> defs = with_file_lists({
      {{"hellaswag", 1.0, O::MultipleChoice, true, false, "validation", 10042, "", 
        "hellaswag_val.jsonl from github.com/rowanz/hellaswag (data/), or HF Rowan/hellaswag validation exported as validation.jsonl"},
       {"hellaswag_val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, hellaswag_doc, "",
       "0aa3b88843990f3f10a97b9575c94d7b71fb2205240ba04ae4884d9e9c992588"},
      {{"winogrande", 1.0, O::MultipleChoice, false, false, "validation", 1267, "",
        "dev.jsonl from winogrande_1.1.zip (github.com/allenai/winogrande), or HF allenai/winogrande winogrande_xl "
        "validation exported as validation.jsonl"},
       {"dev.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, winogrande_doc, "", ""},
      {{"openbookqa", 1.0, O::MultipleChoice, true, false, "test", 500, "", "shared/data/zero-shot/openbookqa"},
       {"test.jsonl", "test.json"}, read_rows_file, openbookqa_doc,
       "93bab98e3f6aa53da315f008fe64d0f1be979c52f6182e414077ea44f3faddaa", ""},
      {{"arc_easy", 1.0, O::MultipleChoice, true, false, "test", 2376, "", "shared/data/zero-shot/arc_easy"},
       {"ARC-Easy-Test.jsonl", "test.jsonl", "test.json"}, read_rows_file, arc_doc,
       "0463d8231ae1ff692745e419d1513e4a737fa17f50d0b3d0d8d9c7f3cb272b9d", ""},
      {{"arc_challenge", 1.0, O::MultipleChoice, true, false, "test", 1172, "", "shared/data/zero-shot/arc_challenge"},
       {"ARC-Challenge-Test.jsonl", "test.jsonl", "test.json"}, read_rows_file, arc_doc,
       "a791286850997905ea7ee6b79d52348cf083acb5a182a62688dbd2ee460cf7b2", ""},
      {{"pubmedqa", 1.0, O::MultipleChoice, false, false, "test", 500, "", "shared/data/zero-shot/pubmedqa"},
       {"ori_pqal.json", "test.jsonl", "test.json"}, read_pubmedqa, pubmedqa_doc,
       "7eae1f757658e7ca7e70dd9e69e6aed2320a8fe07b54a5d0b16c3da651d5003b", ""},
      {{"logiqa", 1.0, O::MultipleChoice, true, false, "test", 651, "", "shared/data/zero-shot/logiqa"},
       {"Test.txt", "test.jsonl", "test.json"}, read_logiqa, logiqa_doc,
       "8693f0c057da1f4930ee5d543bd86412364bd73dc78dfed2b08604789fc46a22", ""},
      {{"boolq", 2.0, O::MultipleChoice, false, false, "validation", 3270, "", "shared/data/zero-shot/boolq"},
       {"val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, boolq_doc,
       "6966c34f19a5b966283482fd6eab9f2097e8fee19f77c1d6ff2adf19498db8e4", ""},
      {{"cb", 1.0, O::MultipleChoice, false, true, "validation", 56, "", "shared/data/zero-shot/cb"},
       {"val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, cb_doc,
       "a099677df9cf82428303b865544aac77b5e44baeeec6f06dbf9993c7ebbd6595", ""},
      {{"wic", 1.0, O::MultipleChoice, false, false, "validation", 638, "", "shared/data/zero-shot/wic"},
       {"val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, wic_doc,
       "883a107fa07908b92e3796d858d8f642969cb445a2b2b0fb72904b80528d4869", ""},
      {{"wsc", 1.0, O::MultipleChoice, false, false, "validation", 104, "", "shared/data/zero-shot/wsc"},
       {"val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, wsc_doc,
       "ad991fff685c0d55bcb9c479791b4f7c0a3d9a5ba2f792a02b9492a509ba8433", ""},
      {{"sglue_rte", 0.0, O::MultipleChoice, false, false, "validation", 277, "", "shared/data/zero-shot/rte"},
       {"val.jsonl", "validation.jsonl", "validation.json"}, read_rows_file, sglue_rte_doc,
       "48cf875b05a739d542d1844652668a58adddfbff7a814ddb3b894e5d21f5ec9e", ""},
      {{"piqa", 1.0, O::MultipleChoice, true, false, "validation", 1838, "", "shared/data/zero-shot/piqa"},
       {"valid.jsonl", "validation.jsonl", "validation.json"}, read_piqa, piqa_doc,
       "e7981e848359d4278261a621a7db2e7847680bcf5b875133b8afde3f85cf23ae", ""},
      {{"sciq", 1.0, O::MultipleChoice, true, false, "test", 1000, "",
        "\"SciQ dataset-2 3/test.json\" from SciQ.zip (allenai.org/data/sciq), or HF allenai/sciq test exported as "
        "test.jsonl"},
       {"test.json", "test.jsonl"}, read_rows_file, sciq_doc, "", ""},
      {{"lambada_openai", 1.0, O::Loglikelihood, false, false, "test", 5153, "", "shared/data/zero-shot/lambada_openai"},
       {"lambada_test.jsonl", "test.jsonl", "test.json"}, read_rows_file, lambada_doc,
       "3c681214207a2b8823caef6fd518a8bb209d1c13bf1c0cae6250f1add1e42ff8", ""},
  });
  return defs;
}

// Directory names that differ from the task name.
std::string directory_name(const std::string& task) { return task == "sglue_rte" ? "rte" : task; }

const TaskDefinition& definition(const std::string& name) {
  for (const TaskDefinition& d : definitions())
    if (d.info.name == name) return d;
  throw ConfigError("--task " + name + ": unknown task (expected merino, " + join(zero_shot_task_names(), ", ") +
                    ", wikitext2, wikitext2-valid, ptb or text:FILE)");
}

// sha256 over every document's requests and gold: the same for the original file and for any
// export of the same split, different for any other version.
std::string content_sha256(const std::vector<ZeroShotDoc>& docs) {
  std::string all;
  for (const ZeroShotDoc& d : docs) {
    for (size_t i = 0; i < d.num_requests(); ++i) all += d.context(i) + '\x1f' + d.continuation(i) + '\x1e';
    all += std::to_string(d.gold) + '\x1d';
  }
  return sha256_hex(all);
}

}  // namespace

const std::vector<std::string>& zero_shot_task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const TaskDefinition& d : definitions()) n.push_back(d.info.name);
    return n;
  }();
  return names;
}

const std::vector<std::string>& merino_task_names() {
  static const std::vector<std::string> names = {"hellaswag", "winogrande", "openbookqa", "arc_easy",
                                                 "arc_challenge", "pubmedqa", "logiqa", "boolq",
                                                 "cb", "wic", "wsc", "sglue_rte"};
  return names;
}

bool is_zero_shot_task(const std::string& name) {
  for (const TaskDefinition& d : definitions())
    if (d.info.name == name) return true;
  return false;
}

const ZeroShotTaskInfo& zero_shot_task_info(const std::string& name) { return definition(name).info; }

std::string zero_shot_task_dir(const std::string& data_dir, const std::string& task) {
  std::vector<std::string> dirs;
  for (const DataRoot& root : data_roots(data_dir)) {
    dirs.push_back(root.dir + "/zero-shot/" + directory_name(task));
    if (root.origin == "--data-dir") dirs.push_back(root.dir + "/" + directory_name(task));
  }
  for (const std::string& dir : dirs)
    if (!existing(dir, definition(task).file_names).empty()) return dir;
  return dirs.empty() ? "zero-shot/" + directory_name(task) : dirs.front();
}

bool zero_shot_data_present(const std::string& name, const std::string& data_dir) {
  return !existing(zero_shot_task_dir(data_dir, name), definition(name).file_names).empty();
}

ZeroShotDoc make_zero_shot_doc(const std::string& name, const Row& hf_row) { return definition(name).make_doc(hf_row); }

ZeroShotTask load_zero_shot_task(const std::string& name, const std::string& data_dir) {
  const TaskDefinition& def = definition(name);
  const std::string dir = zero_shot_task_dir(data_dir, name);
  const std::string path = existing(dir, def.file_names);
  if (path.empty())
    throw DataError(dir + ": no " + name + " data (expected one of " + join(def.file_names, ", ") + "; get " +
                    def.info.source + ")");
  const RowsRead read = def.read(path);
  ZeroShotTask task;
  task.info = def.info;
  task.file = read.file;
  if (read.rows.size() != def.info.rows)
    throw DataError(read.file + ": " + std::to_string(read.rows.size()) + " rows, but lm-eval's " + name + " " +
                    def.info.split + " split has " + std::to_string(def.info.rows));
  for (size_t i = 0; i < read.rows.size(); ++i) {
    try {
      task.docs.push_back(def.make_doc(read.rows[i]));
    } catch (const FieldError& e) {
      throw DataError(read.file + ": row " + std::to_string(i + 1) + ": " + e.what());
    }
    const ZeroShotDoc& d = task.docs.back();
    if (def.info.type == OutputType::MultipleChoice && (d.gold < 0 || size_t(d.gold) >= d.num_requests()))
      throw DataError(read.file + ": row " + std::to_string(i + 1) + ": the answer is not one of the choices");
  }
  task.content_sha256 = content_sha256(task.docs);
  if (!def.release_sha256.empty() && fs::path(path).filename() == def.file_names.front()) {
    if (read.raw_sha != def.release_sha256)
      throw DataError(path + ": sha256 " + read.raw_sha + " is not the original release's " + def.release_sha256 +
                      "; see shared/data/zero-shot/SOURCES.md");
    task.verified = true;
  }
  if (!def.content_sha256.empty()) {
    if (task.content_sha256 != def.content_sha256)
      throw DataError(read.file + ": its documents (sha256 " + task.content_sha256 + ") are not lm-eval's " + name +
                      " " + def.info.split + " split (" + def.content_sha256 +
                      "); see shared/data/zero-shot/SOURCES.md");
    task.verified = true;
  }
  return task;
}

}  // namespace merino::eval

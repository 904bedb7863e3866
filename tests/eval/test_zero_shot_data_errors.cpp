// Bad task data: one DataError / ConfigError naming the file and the problem; any other version
// of a known split is refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/errors.h"
#include "eval/tasks.h"
#include "eval/zero_shot_tasks.h"
#include "zero_shot_test_util.h"

namespace merino::eval {
namespace {

namespace fs = std::filesystem;

std::string load_error(const std::string& task, const std::string& data_dir) {
  try {
    load_zero_shot_task(task, data_dir);
  } catch (const DataError& e) {
    return std::string("DataError: ") + e.what();
  } catch (const ConfigError& e) {
    return std::string("ConfigError: ") + e.what();
  }
  return "no error";
}

struct zero_shot_data_errors : ::testing::Test {
  test::TempDir dir;
  std::string cb_dir;
  void SetUp() override {
    cb_dir = dir.path + "/zero-shot/cb";
    fs::create_directories(cb_dir);
  }
  void write_cb(const std::string& bytes) { test::write_file(cb_dir + "/val.jsonl", bytes); }
  std::string cb_rows(size_t n, const std::string& row) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += row + "\n";
    return s;
  }
};

TEST_F(zero_shot_data_errors, unknown_task) {
  EXPECT_EQ(load_error("hellaswag2", dir.path).rfind("ConfigError: --task hellaswag2: unknown task", 0), 0u);
}

TEST_F(zero_shot_data_errors, missing_file_says_what_to_bring) {
  const std::string e = load_error("hellaswag", dir.path);
  EXPECT_EQ(e.rfind("DataError: " + dir.path + "/zero-shot/hellaswag: no hellaswag data (expected one of hellaswag_val.jsonl", 0), 0u) << e;
  EXPECT_NE(e.find("rowanz/hellaswag"), std::string::npos) << e;
}

TEST_F(zero_shot_data_errors, wrong_format) {
  write_cb("premise,hypothesis,label\n");
  EXPECT_EQ(load_error("cb", dir.path), "DataError: " + cb_dir + "/val.jsonl: line 1: not JSON: " +
                                            "parse error at line 1, column 1: syntax error while parsing value - invalid literal; last read: 'p'");
  write_cb("[1, 2]");
  EXPECT_EQ(load_error("cb", dir.path), "DataError: " + cb_dir + "/val.jsonl: element 1 of the JSON array is not an object");
}

TEST_F(zero_shot_data_errors, row_without_a_field) {
  write_cb(cb_rows(55, R"({"premise": "p", "hypothesis": "h", "label": "neutral", "idx": 0})") +
           R"({"premise": "p", "label": "neutral", "idx": 55})" + "\n");
  EXPECT_EQ(load_error("cb", dir.path), "DataError: " + cb_dir + "/val.jsonl: row 56: no field \"hypothesis\"");
  write_cb(cb_rows(56, R"({"premise": "p", "hypothesis": "h", "label": "maybe", "idx": 0})"));
  EXPECT_EQ(load_error("cb", dir.path),
            "DataError: " + cb_dir + "/val.jsonl: row 1: field \"label\" is \"maybe\", not a known label");
}

TEST_F(zero_shot_data_errors, wrong_number_of_rows) {
  write_cb(cb_rows(3, R"({"premise": "p", "hypothesis": "h", "label": "neutral", "idx": 0})"));
  EXPECT_EQ(load_error("cb", dir.path),
            "DataError: " + cb_dir + "/val.jsonl: 3 rows, but lm-eval's cb validation split has 56");
}

// The real CB file with one label changed, and the same split exported as a JSON array of HF
// rows (integer labels): the first is refused, the second accepted.
TEST_F(zero_shot_data_errors, other_versions_refused_exports_accepted) {
  if (!test::zero_shot_data_here()) GTEST_SKIP() << "no zero-shot data: run `merino fetch zero-shot`";
  const std::vector<Row> rows = read_json_rows(test::kZeroShotData + "/cb/val.jsonl");
  std::string changed;
  for (size_t i = 0; i < rows.size(); ++i) {
    Row r = rows[i];
    if (i == 7) r["label"] = r["label"] == "neutral" ? "entailment" : "neutral";
    changed += r.dump() + "\n";
  }
  write_cb(changed);
  const std::string e = load_error("cb", dir.path);
  EXPECT_NE(e.find("/val.jsonl: its documents (sha256 "), std::string::npos) << e;
  EXPECT_NE(e.find("are not lm-eval's cb validation split"), std::string::npos) << e;

  fs::remove(cb_dir + "/val.jsonl");
  Row hf = Row::array();
  const std::vector<std::string> labels = {"entailment", "contradiction", "neutral"};
  for (Row r : rows) {
    r["label"] = int(std::find(labels.begin(), labels.end(), r["label"].get<std::string>()) - labels.begin());
    hf.push_back(r);
  }
  test::write_file(cb_dir + "/validation.json", hf.dump(2));
  const ZeroShotTask t = load_zero_shot_task("cb", dir.path);
  EXPECT_TRUE(t.verified);
  EXPECT_EQ(t.content_sha256, load_zero_shot_task("cb", test::kZeroShotRoot).content_sha256);
}

}  // namespace
}  // namespace merino::eval

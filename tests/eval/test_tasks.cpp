// The built-in tasks on the data files (WikiText-2 fetched, PTB committed): the document split, detokenized targets and the
// word / byte totals must be lm-eval's. Expected values: LM_EVAL_PROTOCOL.md (the shared data), and
// the sha256 of the targets joined with "\0" as lm-eval's own loader (datasets/wikitext/
// wikitext.py) and wikitext_detokenizer produce them, run with Python 3 on the same files.
#include <gtest/gtest.h>

#include <cstdlib>

#include "base/errors.h"
#include "base/sha256.h"
#include "eval/tasks.h"
#include "eval_test_util.h"

namespace merino::eval {
namespace {

struct Totals {
  uint64_t words = 0, bytes = 0, target_bytes = 0;
  std::string targets_sha256;
};

Totals totals(const EvalTask& task) {
  Totals t;
  std::string joined;
  for (size_t i = 0; i < task.documents.size(); ++i) {
    const TaskDocument& d = task.documents[i];
    t.words += d.words;
    t.bytes += d.bytes;
    t.target_bytes += d.text.size();
    if (i) joined += '\0';
    joined += d.text;
  }
  t.targets_sha256 = sha256_hex(joined);
  return t;
}

TEST(eval_tasks, wikitext2_test_is_lm_eval_wikitext) {
  MERINO_WIKITEXT2_OR_SKIP();
  const EvalTask task = load_task("wikitext2");
  EXPECT_EQ(task.name, "wikitext2");
  ASSERT_EQ(task.documents.size(), 62u);
  const Totals t = totals(task);
  EXPECT_EQ(t.words, 241335u);
  EXPECT_EQ(t.bytes, 1290527u);
  EXPECT_EQ(t.target_bytes, 1240466u);
  EXPECT_EQ(t.targets_sha256, "b0ae50e166add20959a5406d9b3c99fe1f23819ec0a10149047149434fb85d81");
  EXPECT_EQ(task.documents[0].text.rfind(
                " = Robert Boulter =\n\nRobert Boulter is an English film, television and theatre actor. He had "
                "a guest-starring role",
                0),
            0u);
}

TEST(eval_tasks, wikitext2_valid_is_lm_eval_wikitext) {
  MERINO_WIKITEXT2_OR_SKIP();
  const EvalTask task = load_task("wikitext2-valid");
  ASSERT_EQ(task.documents.size(), 60u);
  const Totals t = totals(task);
  EXPECT_EQ(t.words, 214006u);
  EXPECT_EQ(t.bytes, 1146785u);
  EXPECT_EQ(t.target_bytes, 1103504u);
  EXPECT_EQ(t.targets_sha256, "d5bd98ccac4d0ffcd8ca06d7bd1a94f0871b631d7e3d454578760fca5b575b95");
}

TEST(eval_tasks, ptb_is_the_test_file_with_word_level_units) {
  const EvalTask task = load_task("ptb");
  ASSERT_EQ(task.documents.size(), 1u);
  EXPECT_EQ(task.documents[0].words, 82430u);  // 78,669 words + 3,761 <eos>
  EXPECT_EQ(task.documents[0].bytes, 449945u);
  EXPECT_EQ(task.documents[0].text.size(), 449945u);  // scored as it is
}

TEST(eval_tasks, text_file_counts_like_lm_eval_raw_text_tasks) {
  test::TempDir dir;
  const std::string file = dir.path + "/t.txt";
  test::write_file(file, " two  words\n");
  const EvalTask task = load_task("text:" + file);
  ASSERT_EQ(task.documents.size(), 1u);
  EXPECT_EQ(task.documents[0].text, " two  words\n");
  EXPECT_EQ(task.documents[0].words, 4u);  // "", "two", "words", ""
  EXPECT_EQ(task.documents[0].bytes, 12u);
  EXPECT_EQ(task.sha256, sha256_hex(" two  words\n"));
}

TEST(eval_errors, unknown_task_and_missing_files) {
  EXPECT_THROW(load_task("wikitext3"), ConfigError);
  EXPECT_THROW(load_task("text:"), ConfigError);
  try {
    load_task("text:/no/such/file.txt");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_STREQ(e.what(), "/no/such/file.txt: no such file");
  }
}

TEST(eval_errors, another_version_of_a_builtin_file_is_refused) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path + "/ptb");
  test::write_file(dir.path + "/ptb/ptb.test.txt", " a b \n");
  try {
    load_task("ptb", dir.path);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("is not the canonical file's"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace merino::eval

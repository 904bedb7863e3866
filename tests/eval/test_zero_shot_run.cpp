// run_zero_shot end to end from a saved checkpoint: the lm-eval results layout, the document
// counts with --limit, and --task merino skipping (and naming) the tasks without data.
#include <gtest/gtest.h>

#include "eval/run_zero_shot.h"
#include "eval/zero_shot_tasks.h"
#include "zero_shot_test_util.h"

namespace merino::eval {
namespace {

struct zero_shot_run : ::testing::Test {
  test::TempDir dir;
  RunZeroShotOptions o;
  // the report as the --json file holds it
  nlohmann::json run(const std::vector<std::string>& tasks) {
    return nlohmann::json::parse(run_zero_shot(o, plan_zero_shot(tasks, o.data_dir)).report.dump());
  }
  void SetUp() override {
    if (!test::zero_shot_data_here())
      GTEST_SKIP() << "no " << test::kZeroShotData << ": run `merino fetch zero-shot`";
    o.checkpoint = test::save_zero_checkpoint(dir.path + "/run", test::model_yaml(50257, 16), 7);
    o.data_dir = test::kZeroShotRoot;
    o.limit = 3;
  }
};

TEST_F(zero_shot_run, results_layout) {
  const nlohmann::json j = run({"cb", "boolq", "lambada_openai"});
  // a zero model ties every one-token answer, so the first choice is picked: CB's "True"
  // (entailment), BoolQ's "no"
  const nlohmann::json& cb = j["results"]["cb"];
  EXPECT_EQ(cb["alias"], "cb");
  EXPECT_EQ(cb["n"], 3);
  for (const char* key : {"acc,none", "acc_stderr,none", "f1,none", "f1_stderr,none"})
    EXPECT_TRUE(cb.contains(key)) << key;
  EXPECT_EQ(cb["f1_stderr,none"], "N/A");
  EXPECT_FALSE(j["results"]["boolq"].contains("acc_norm,none"));  // not in lm-eval's boolq metrics
  EXPECT_TRUE(j["results"]["lambada_openai"].contains("perplexity,none"));
  EXPECT_EQ(j["n-samples"]["boolq"], (nlohmann::json{{"original", 3270}, {"effective", 3}}));
  EXPECT_EQ(j["versions"]["boolq"], 2.0);
  EXPECT_EQ(j["n-shot"]["cb"], 0);
  EXPECT_EQ(j["higher_is_better"]["lambada_openai"]["perplexity"], false);
  EXPECT_EQ(j["config"]["tokenizer"], "gpt2");
  EXPECT_EQ(j["config"]["step"], 7);
  EXPECT_TRUE(j["data"]["cb"]["verified"]);
  EXPECT_TRUE(j["missing"].empty());
}

TEST_F(zero_shot_run, merino_set_skips_tasks_without_data) {
  o.limit = 1;
  const nlohmann::json j = run({"merino"});
  // every task of MeRino's table either ran or is named as missing, with no data file present
  // (shared/data lacks hellaswag and winogrande)
  EXPECT_EQ(j["results"].size() + j["missing"].size(), 12u);
  for (const std::string& name : merino_task_names())
    EXPECT_EQ(j["results"].contains(name), zero_shot_data_present(name, test::kZeroShotRoot))
        << name;
  for (const auto& name : j["missing"])
    EXPECT_FALSE(zero_shot_data_present(name, test::kZeroShotRoot)) << name;
  EXPECT_FALSE(j["results"].contains("piqa"));  // not in MeRino's table
}

}  // namespace
}  // namespace merino::eval

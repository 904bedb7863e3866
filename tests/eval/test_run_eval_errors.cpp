// run_eval's bad-input contract: each problem is one exception naming the file or option.
#include <gtest/gtest.h>

#include <regex>

#include "base/errors.h"
#include "eval/run_eval.h"
#include "eval_test_util.h"

namespace merino::eval {
namespace {

std::string message_of(const RunEvalOptions& o) {
  try {
    run_eval(o);
  } catch (const DataError& e) {
    return std::string("DataError: ") + e.what();
  } catch (const ConfigError& e) {
    return std::string("ConfigError: ") + e.what();
  }
  return "no error";
}

struct eval_run_errors : ::testing::Test {
  test::TempDir dir;
  RunEvalOptions o;
  void SetUp() override {
    test::write_file(dir.path + "/doc.txt", " some text \n");
    o.task = "text:" + dir.path + "/doc.txt";
  }
};

TEST_F(eval_run_errors, missing_checkpoint) {
  o.checkpoint = dir.path + "/no/such/ckpt";
  EXPECT_EQ(message_of(o), "DataError: " + o.checkpoint + ": no such checkpoint directory");
}

TEST_F(eval_run_errors, directory_that_is_not_a_checkpoint) {
  o.checkpoint = dir.path;
  test::write_file(dir.path + "/config.yaml", test::model_yaml(50257, 8));
  EXPECT_EQ(message_of(o), "DataError: " + dir.path + "/state.json: cannot open file");
}

TEST_F(eval_run_errors, missing_task_file_is_reported_before_the_checkpoint) {
  o.checkpoint = dir.path + "/no/such/ckpt";
  o.task = "text:" + dir.path + "/missing.txt";
  EXPECT_EQ(message_of(o), "DataError: " + dir.path + "/missing.txt: no such file");
}

TEST_F(eval_run_errors, tokenizer_larger_than_the_model_vocabulary) {
  o.checkpoint = test::save_zero_checkpoint(dir.path + "/run", test::model_yaml(37, 8));
  EXPECT_EQ(message_of(o),
            "DataError: the tokenizer has 50257 tokens but the model's vocabulary is 37 (pass the "
            "--tokenizer the "
            "model was trained with)");
}

TEST_F(eval_run_errors, stride_longer_than_the_context) {
  o.checkpoint = test::save_zero_checkpoint(dir.path + "/run", test::model_yaml(50257, 8));
  o.stride = 9;
  EXPECT_EQ(message_of(o), "ConfigError: --stride 9: must be between 1 and the context length 8");
}

// Refused before any allocation, in one line: the batch, what it needs, what the machine has.
TEST_F(eval_run_errors, batch_beyond_the_memory_names_the_sizes) {
  o.checkpoint = test::save_zero_checkpoint(dir.path + "/run", test::model_yaml(50257, 8));
  o.batch = 1 << 20;  // 8 Mi positions of 50257 fp32 logits alone: 1.5 TiB
  try {
    run_eval(o);
    FAIL() << "no error";
  } catch (const EnvironmentError& e) {
    const std::string m = e.what();
    EXPECT_TRUE(std::regex_match(
        m, std::regex("--batch 1048576 \\(1048576 x 8 tokens per forward pass\\): cpu: the run "
                      "needs [0-9]+\\.[0-9] MiB of memory \\(parameters .*\\), but "
                      "[0-9]+\\.[0-9] MiB are available; lower --batch")))
        << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace merino::eval

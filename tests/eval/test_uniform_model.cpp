// A model whose parameters are all zero has logits exactly 0 (tied embeddings of zeros), so it
// gives every token probability 1/V and every metric has a closed form in the counts:
//   loglikelihood = -N_tokens ln V, word_perplexity = exp(N_tokens ln V / N_words), ...
// The counts are recomputed here independently of the eval code.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "data/tokenizer/named_tokenizer.h"
#include "eval/evaluate.h"
#include "eval/run_eval.h"
#include "eval_test_util.h"
#include "kernels/cpu/cpu_backend.h"

namespace merino::eval {
namespace {

constexpr int kVocab = 50257;

struct Expected {
  double tokens, words, bytes;
  double ll() const { return -tokens * std::log(double(kVocab)); }
  double word_perplexity() const { return std::exp(tokens * std::log(double(kVocab)) / words); }
  double byte_perplexity() const { return std::exp(tokens * std::log(double(kVocab)) / bytes); }
  double bits_per_byte() const { return tokens * std::log2(double(kVocab)) / bytes; }
};

// whitespace runs + 1, ASCII only (the texts used here hold no other whitespace)
uint64_t regex_split_fields_ascii(const std::string& s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  uint64_t runs = 0;
  for (size_t i = 0; i < s.size(); ++i) runs += ws(s[i]) && (i == 0 || !ws(s[i - 1]));
  return runs + 1;
}

void expect_rel(double actual, double expected, const char* what) {
  EXPECT_NEAR(actual, expected, 1e-5 * std::abs(expected)) << what;
}

TEST(eval_uniform, closed_form_metrics_for_every_stride_and_batch) {
  MERINO_WIKITEXT2_OR_SKIP();
  test::TempDir dir;
  const ModelConfig cfg = test::config_from_yaml(test::model_yaml(kVocab, 16), dir.path);
  CpuBackend<float> backend;
  Model<float> model(cfg, backend);
  model.set_params(std::vector<float>(model.num_params(), 0.f));
  const Tokenizer tok = load_named_tokenizer("gpt2").tokenizer;

  // three short WikiText-2 test articles (the 106-, 1,282- and 2,301-byte targets)
  const EvalTask full = load_task("wikitext2");
  EvalTask task = full;
  task.documents = {full.documents[28], full.documents[29], full.documents[14]};
  Expected e{0, 0, 0};
  for (const TaskDocument& d : task.documents) {
    e.tokens += double(tok.encode(d.text, true).size());
    e.words += double(d.words);  // checked against lm-eval's totals in test_tasks.cpp
    e.bytes += double(d.bytes);
  }
  ASSERT_GT(e.tokens, 16 * 3);  // several windows per document

  for (const auto& [stride, batch] : {std::pair{0, 1}, {0, 4}, {7, 3}, {3, 64}, {16, 2}}) {
    SCOPED_TRACE("stride " + std::to_string(stride) + " batch " + std::to_string(batch));
    const EvalResult r = evaluate(model, tok, task, {stride, batch, nullptr});
    EXPECT_EQ(double(r.totals.tokens), e.tokens);
    EXPECT_EQ(double(r.totals.words), e.words);
    EXPECT_EQ(double(r.totals.bytes), e.bytes);
    expect_rel(r.totals.loglikelihood, e.ll(), "loglikelihood");
    expect_rel(r.metrics.token_perplexity, kVocab, "token_perplexity");
    expect_rel(r.metrics.word_perplexity, e.word_perplexity(), "word_perplexity");
    expect_rel(r.metrics.byte_perplexity, e.byte_perplexity(), "byte_perplexity");
    expect_rel(r.metrics.bits_per_byte, e.bits_per_byte(), "bits_per_byte");
  }
}

TEST(eval_uniform, run_eval_from_checkpoint_reports_closed_form_json_deterministically) {
  test::TempDir dir;
  const std::string ckpt = test::save_zero_checkpoint(dir.path + "/run", test::model_yaml(kVocab, 32), 7);
  const std::string text =
      " = Title = \n \n Some text , with \" quotes \" and  two  spaces .\nA second line with caf\xC3\xA9 "
      "and 3 @-@ 4 <|endoftext|> in it \n\n";
  test::write_file(dir.path + "/doc.txt", text);

  RunEvalOptions o;
  o.checkpoint = dir.path + "/run/latest";
  o.task = "text:" + dir.path + "/doc.txt";
  o.batch = 2;
  const nlohmann::json j = run_eval(o).report;
  const nlohmann::json again = run_eval(o).report;

  const Tokenizer tok = load_named_tokenizer("gpt2").tokenizer;
  const Expected e{double(tok.encode(text, true).size()), double(regex_split_fields_ascii(text)), double(text.size())};
  EXPECT_EQ(j["task"], "text");
  EXPECT_EQ(j["task_version"], 1);
  EXPECT_EQ(j["checkpoint"], o.checkpoint);
  EXPECT_EQ(j["checkpoint_resolved"], std::filesystem::canonical(ckpt).string());
  EXPECT_EQ(j["step"], 7);
  EXPECT_EQ(j["tokens"].get<double>(), e.tokens);
  EXPECT_EQ(j["words"].get<double>(), e.words);
  EXPECT_EQ(j["bytes"].get<double>(), e.bytes);
  expect_rel(j["loglikelihood"].get<double>(), e.ll(), "loglikelihood");
  expect_rel(j["metrics"]["word_perplexity"].get<double>(), e.word_perplexity(), "word_perplexity");
  expect_rel(j["metrics"]["byte_perplexity"].get<double>(), e.byte_perplexity(), "byte_perplexity");
  expect_rel(j["metrics"]["bits_per_byte"].get<double>(), e.bits_per_byte(), "bits_per_byte");
  expect_rel(j["metrics"]["token_perplexity"].get<double>(), kVocab, "token_perplexity");
  EXPECT_EQ(j.dump(2), again.dump(2));  // deterministic
}

}  // namespace
}  // namespace merino::eval

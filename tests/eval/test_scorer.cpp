// The scorer against lm-eval's procedure run literally, one window per forward pass: build
// (input, prediction) token lists as get_rolling_token_windows + make_disjoint_window do, feed
// HF's (context + continuation)[-(L + 1):][:-1], and sum the log-probabilities of the last
// len(continuation) positions. A random-weight model makes every alignment error visible.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "eval/scorer.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/config.h"

namespace merino::eval {
namespace {

using Tokens = std::vector<int32_t>;

struct TinyModel {
  CpuBackend<float> backend;
  Model<float> model;
  TinyModel()
      : model(load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/model/configs/tiny-gpt2.yaml"), backend) {
    model.init_weights(3);
  }
};

Tokens slice(const Tokens& v, size_t b, size_t e) { return Tokens(v.begin() + long(b), v.begin() + long(e)); }

// log-likelihood of `continuation` after `context`, as lm-eval's HF backend computes it
double hf_loglikelihood(Model<float>& model, const Tokens& context, const Tokens& continuation) {
  const size_t L = size_t(model.config().context_length);
  Tokens whole = context;
  whole.insert(whole.end(), continuation.begin(), continuation.end());
  if (whole.size() > L + 1) whole.erase(whole.begin(), whole.end() - long(L + 1));
  const Tokens input = slice(whole, 0, whole.size() - 1);
  Tokens targets(input.size(), Model<float>::kIgnoreIndex);
  for (size_t i = input.size() - continuation.size(); i < input.size(); ++i) targets[i] = whole[i + 1];
  std::vector<float> losses;
  model.forward(input.data(), targets.data(), 1, int(input.size()), losses);
  double ll = 0;
  for (float l : losses) ll -= double(l);
  return ll;
}

// lm-eval's loglikelihood_rolling for one document (context_len 1)
double lm_eval_rolling(Model<float>& model, const Tokens& toks, int32_t prefix) {
  const size_t L = size_t(model.config().context_length), n = toks.size();
  const size_t first = std::min(L, n);
  Tokens input{prefix};
  for (size_t i = 0; i + 1 < first; ++i) input.push_back(toks[i]);
  std::vector<std::pair<Tokens, Tokens>> windows{{input, slice(toks, 0, first)}};
  for (size_t predicted = first; predicted < n;) {
    const size_t pred_len = std::min(n - predicted, L), end = predicted + pred_len;
    windows.push_back({slice(toks, end - L - 1, end - 1), slice(toks, end - pred_len, end)});
    predicted += pred_len;
  }
  double ll = 0;
  for (auto& [a, b] : windows) {
    const Tokens context = slice(a, 0, a.size() - (b.size() - 1));  // make_disjoint_window
    ll += hf_loglikelihood(model, context, b);
  }
  return ll;
}

std::vector<Tokens> random_documents(const std::vector<size_t>& lengths, int vocab) {
  std::mt19937 rng(11);
  std::vector<Tokens> docs;
  for (size_t n : lengths) {
    Tokens d(n);
    for (auto& t : d) t = int32_t(rng() % uint32_t(vocab - 1));  // the last id is the prefix
    docs.push_back(d);
  }
  return docs;
}

TEST(eval_scorer, equals_lm_eval_rolling_loglikelihood_for_any_batch) {
  TinyModel m;
  const int V = m.model.config().vocab_size;  // context 8
  const int32_t prefix = V - 1;
  const std::vector<Tokens> docs = random_documents({1, 7, 8, 9, 23, 40, 3}, V);
  std::vector<double> expected;
  for (const Tokens& d : docs) expected.push_back(lm_eval_rolling(m.model, d, prefix));
  for (int batch : {1, 2, 5, 64}) {
    const ScoreResult r = score_documents(m.model, docs, prefix, {0, batch, nullptr});
    ASSERT_EQ(r.loglikelihood.size(), docs.size());
    EXPECT_EQ(r.tokens, 1u + 7 + 8 + 9 + 23 + 40 + 3);
    for (size_t d = 0; d < docs.size(); ++d)
      EXPECT_NEAR(r.loglikelihood[d], expected[d], 1e-4 * std::abs(expected[d])) << "doc " << d << " batch " << batch;
  }
}

TEST(eval_scorer, a_short_document_is_one_forward_pass) {
  TinyModel m;
  const int32_t prefix = 5;
  const Tokens doc = random_documents({6}, m.model.config().vocab_size)[0];
  Tokens input{prefix};
  input.insert(input.end(), doc.begin(), doc.end() - 1);
  std::vector<float> losses;
  const double mean = m.model.forward(input.data(), doc.data(), 1, int(input.size()), losses);
  for (int stride : {1, 4, 8}) {
    const ScoreResult r = score_documents(m.model, {doc}, prefix, {stride, 3, nullptr});
    EXPECT_NEAR(r.loglikelihood[0], -mean * double(doc.size()), 1e-4);
  }
}

TEST(eval_scorer, smaller_strides_give_each_token_more_context) {
  // scoring token i with the L - 1 tokens before it (stride 1) is a different number from
  // lm-eval's blocks, but the same tokens are counted and the result is finite
  TinyModel m;
  const std::vector<Tokens> docs = random_documents({30}, m.model.config().vocab_size);
  const ScoreResult blocks = score_documents(m.model, docs, 36, {0, 4, nullptr});
  const ScoreResult sliding = score_documents(m.model, docs, 36, {1, 4, nullptr});
  EXPECT_EQ(blocks.tokens, sliding.tokens);
  EXPECT_EQ(blocks.windows, 4u);
  EXPECT_EQ(sliding.windows, 1u + 30 - 8);
  EXPECT_NE(blocks.loglikelihood[0], sliding.loglikelihood[0]);
}

}  // namespace
}  // namespace merino::eval

// The scoring engine and the metrics on models whose answers are known without running them:
//  - random small models: the batched engine (rows shared by a document's choices, batches,
//    padding, left truncation) equals one forward pass per request bit for bit, and both equal
//    lm-eval's HF computation from the model's own cross-entropy;
//  - a model with all parameters zero (uniform over the vocabulary): acc and acc_norm follow
//    from token counts and choice lengths alone (the protocol's fixtures);
//  - a model whose prediction depends only on the position: LAMBADA's greedy match needs every
//    token of a multi-token word;
//  - a model that always prefers one answer token: the majority-class accuracies over the full
//    splits (LM_EVAL_ZERO_SHOT.md 11.22), which catch label and choice-order bugs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "base/errors.h"
#include "eval/loglikelihood.h"
#include "eval/zero_shot_evaluate.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/config.h"
#include "zero_shot_test_util.h"

namespace merino::eval {
namespace {

using Ids = std::vector<int32_t>;

ModelConfig config(const std::string& yaml) {
  test::TempDir dir;
  return test::config_from_yaml(yaml, dir.path);
}

std::string yaml(int vocab, int context, int d_model, bool tied) {
  return "model:\n  vocab_size: " + std::to_string(vocab) +
         "\n  context_length: " + std::to_string(context) +
         "\n  norm: layernorm\n  activation: gelu\n  position: learned\n  bias: true\n  "
         "tie_embeddings: " +
         (tied ? "true" : "false") +
         "\n  init_std: 0.3\n  layers: 2\n  d_model: " + std::to_string(d_model) +
         "\n  n_heads: 1\n  ffn_dim: 8\n";
}

// lm-eval's HF loglikelihood from the model's cross-entropy, one request per forward pass
double hf_loglikelihood(Model<float>& model, const TokenRequest& r) {
  const size_t L = size_t(model.config().context_length);
  Ids whole = r.context;
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  if (whole.size() > L + 1) whole.erase(whole.begin(), whole.end() - long(L + 1));
  const Ids input(whole.begin(), whole.end() - 1);
  Ids targets(input.size(), Model<float>::kIgnoreIndex);
  for (size_t i = input.size() - r.continuation.size(); i < input.size(); ++i)
    targets[i] = whole[i + 1];
  std::vector<float> losses;
  model.forward(input.data(), targets.data(), 1, int(input.size()), losses);
  double ll = 0;
  for (float l : losses) ll -= double(l);
  return ll;
}

// Documents of 1-5 choices after a shared context: random choices, single tokens (one row
// for the document), choices that are prefixes of others, contexts longer than the window,
// continuations longer than the window.
void random_requests(std::mt19937& rng, int V, int L, std::vector<TokenRequest>& reqs,
                     std::vector<size_t>& group) {
  auto tok = [&] { return int32_t(rng() % uint32_t(V)); };
  for (size_t d = 0; d < 40; ++d) {
    Ids context(1 + rng() % size_t(2 * L));
    for (auto& t : context) t = tok();
    const size_t choices = 1 + rng() % 5;
    const int kind = int(d % 4);
    Ids longest(1 + rng() % size_t(L));
    for (auto& t : longest) t = tok();
    for (size_t c = 0; c < choices; ++c) {
      Ids cont;
      if (kind == 0) cont = {tok()};
      if (kind == 1)
        cont.assign(longest.begin(), longest.begin() + long(1 + rng() % longest.size()));
      if (kind >= 2) {  // kind 3: longer than the context, scored in pieces
        cont.resize(1 + rng() % size_t(kind == 2 ? L : 3 * L));
        for (auto& t : cont) t = tok();
      }
      reqs.push_back({context, cont});
      group.push_back(d);
    }
  }
}

TEST(zero_shot_scoring, batched_equals_naive_bit_for_bit) {
  size_t greedy = 0, requests = 0;
  for (uint64_t seed : {1u, 2u, 3u}) {
    CpuBackend<float> backend;
    Model<float> model(config(yaml(29, 6 + int(seed), 8, seed != 2)), backend);
    model.init_weights(seed);
    std::mt19937 rng{uint32_t(seed)};
    std::vector<TokenRequest> reqs;
    std::vector<size_t> group;
    random_requests(rng, 29, model.config().context_length, reqs, group);
    const std::vector<ScoredRequest> naive = score_naive(model, reqs);
    requests += reqs.size();
    for (size_t i = 0; i < reqs.size(); ++i) {
      if (reqs[i].continuation.size() <=
          size_t(model.config().context_length)) {  // lm-eval's limit
        EXPECT_NEAR(naive[i].loglikelihood, hf_loglikelihood(model, reqs[i]),
                    2e-5 * std::abs(naive[i].loglikelihood));
      }
      greedy += naive[i].greedy;
    }
    for (int batch : {1, 2, 3, 7, 64}) {
      LoglikelihoodStats stats, unshared_stats;
      const std::vector<ScoredRequest> batched =
          score_requests(model, reqs, group, {batch, nullptr}, &stats);
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(batched[i].loglikelihood, naive[i].loglikelihood)
            << "seed " << seed << " batch " << batch << " request " << i;
        EXPECT_EQ(batched[i].greedy, naive[i].greedy)
            << "seed " << seed << " batch " << batch << " request " << i;
      }
      const std::vector<ScoredRequest> unshared =
          score_requests(model, reqs, {}, {batch, nullptr}, &unshared_stats);
      for (size_t i = 0; i < reqs.size(); ++i)
        EXPECT_EQ(unshared[i].loglikelihood, naive[i].loglikelihood);
      EXPECT_LT(stats.rows, unshared_stats.rows);  // single-token and prefix choices share rows
    }
  }
  EXPECT_GT(greedy, 0u);  // both outcomes occur
  EXPECT_LT(greedy, requests);
}

// Documents shaped like HellaSwag's, whose choices fork from a context run once: contexts of
// 1-20 tokens, 2-6 choices of 1-9 tokens (some sharing first tokens, so the shared prefix runs
// into the continuations; some with nothing shared beyond the context), a continuation longer
// than the window (scored in pieces) and contexts long enough that the choices' windows are
// truncated differently (nothing shared at all). The cached attention adds the same products
// in the same order as the full one (and RoPE's angles come from the same absolute positions),
// so fp32 matches one forward pass per request bit for bit, for GPT-2-, LLaMA- (RMSNorm,
// SwiGLU, RoPE, grouped-query heads, repeated layers) and MeRino-shaped (heterogeneous blocks,
// shared layers, width projections) models.
TEST(zero_shot_scoring, forked_prefixes_equal_naive_bit_for_bit) {
  const int L = 24;
  const std::string llama =
      "model:\n  vocab_size: 29\n  context_length: 24\n  norm: rmsnorm\n  activation: swiglu\n"
      "  position: rope\n  rope_theta: 100\n  bias: false\n  tie_embeddings: true\n"
      "  init_std: 0.3\n  layers: 2\n  repeat: 2\n  d_model: 16\n  n_heads: 4\n"
      "  n_kv_heads: 2\n  ffn_dim: 12\n";
  const std::string merino =
      "model:\n  vocab_size: 29\n  context_length: 24\n  norm: layernorm\n  activation: gelu\n"
      "  position: learned\n  bias: true\n  tie_embeddings: true\n  init_std: 0.3\n  blocks:\n"
      "    - {layers: 2, d_model: 8, n_heads: 2, ffn_ratio: 2.0, share: true}\n"
      "    - {layers: 1, d_model: 12, n_heads: 3, n_kv_heads: 1, ffn_ratio: 1.5}\n";
  const std::string models[] = {yaml(29, L, 8, true), yaml(29, L, 8, false), llama, merino};
  for (uint64_t seed : {4u, 5u, 6u, 7u}) {
    CpuBackend<float> backend;
    Model<float> model(config(models[seed - 4]), backend);
    model.init_weights(seed);
    std::mt19937 rng{uint32_t(seed)};
    auto tok = [&] { return int32_t(rng() % 29u); };
    std::vector<TokenRequest> reqs;
    std::vector<size_t> group;
    for (size_t d = 0; d < 30; ++d) {
      const int kind = int(d % 5);
      Ids context(kind == 4 ? size_t(L) + rng() % 10 : 1 + rng() % 20);
      for (auto& t : context) t = tok();
      const Ids common = {tok(), tok()};
      const size_t choices = 2 + rng() % 5;
      for (size_t c = 0; c < choices; ++c) {
        Ids cont(1 + rng() % 9);
        for (auto& t : cont) t = tok();
        if (kind == 1)
          cont.insert(cont.begin(), common.begin(), common.end());  // shared first tokens
        if (kind == 2) cont[0] = int32_t(c);  // nothing shared beyond the context
        if (kind == 3 && c == 0) cont.resize(size_t(2 * L + 3), 7);  // three pieces
        reqs.push_back({context, cont});
        group.push_back(d);
      }
    }
    const std::vector<ScoredRequest> naive = score_naive(model, reqs);
    for (int batch : {1, 2, 3, 5, 1000}) {
      size_t done = 0, total = 0;  // the last progress report: every piece done once
      const auto progress = [&](size_t d, size_t t, uint64_t) { done = d, total = t; };
      const std::vector<ScoredRequest> batched =
          score_requests(model, reqs, group, {batch, progress});
      EXPECT_EQ(done, total);
      EXPECT_EQ(total, reqs.size() + 2 * 6);  // 6 documents with a three-piece continuation
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(batched[i].loglikelihood, naive[i].loglikelihood)
            << "seed " << seed << " batch " << batch << " request " << i;
        EXPECT_EQ(batched[i].greedy, naive[i].greedy)
            << "seed " << seed << " batch " << batch << " request " << i;
      }
    }
  }
}

// The shared prefix runs once per document: at batch 1 (no padding) a document of choices
// c_1..c_k after a context of n tokens, with no first token in common, costs n + sum(|c_i| - 1)
// positions, not k n + sum(|c_i| - 1) as one forward pass per choice does.
TEST(zero_shot_scoring, the_context_runs_once_per_document) {
  CpuBackend<float> backend;
  Model<float> model(config(yaml(29, 32, 8, true)), backend);
  model.init_weights(3);
  std::vector<TokenRequest> reqs;
  std::vector<size_t> group;
  uint64_t expected = 0, each = 0;
  for (size_t d = 0; d < 3; ++d) {
    const Ids context(5 + 3 * d, int32_t(d + 1));
    expected += context.size();
    for (int32_t c = 0; c < 4; ++c) {
      const Ids cont(size_t(2 + c + d), int32_t(10 + c));
      expected += cont.size() - 1;
      each += context.size() + cont.size() - 1;
      reqs.push_back({context, cont});
      group.push_back(d);
    }
  }
  LoglikelihoodStats stats, unshared;
  score_requests(model, reqs, group, {1, nullptr}, &stats);
  score_requests(model, reqs, {}, {1, nullptr}, &unshared);
  EXPECT_EQ(stats.positions, expected);
  EXPECT_EQ(unshared.positions, each);
  EXPECT_EQ(stats.rows, reqs.size());
}

// A continuation longer than L: pieces of L tokens from the end, the first taking the rest,
// each after all that precedes it.
TEST(zero_shot_scoring, long_continuation_is_scored_in_pieces) {
  CpuBackend<float> backend;
  Model<float> model(config(yaml(29, 4, 8, true)), backend);
  model.init_weights(9);
  const Ids ctx = {1, 2, 3}, cont = {4, 5, 6, 7, 8, 9, 10, 11, 12, 13};  // 10 = 2 + 4 + 4
  const TokenRequest first{ctx, {4, 5}}, second{{1, 2, 3, 4, 5}, {6, 7, 8, 9}},
      third{{1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13}};
  const double expected = hf_loglikelihood(model, first) + hf_loglikelihood(model, second) +
                          hf_loglikelihood(model, third);
  for (int batch : {1, 3}) {
    const ScoredRequest r = score_requests(model, {{ctx, cont}}, {}, {batch, nullptr}).at(0);
    EXPECT_NEAR(r.loglikelihood, expected, 1e-5 * std::abs(expected));
  }
  EXPECT_THROW(score_requests(model, {{ctx, {}}}, {}, {1, nullptr}), DataError);
}

// GPT-2-vocabulary models for the tasks (vocabulary 50,257, a small width).
struct Gpt2SizedModel {
  CpuBackend<float> backend;
  Model<float> model;
  ParamLayout layout;
  std::vector<float> params;
  Gpt2SizedModel(int context, int d_model, bool tied)
      : model(config(yaml(50257, context, d_model, tied)), backend),
        layout(model.layout()),
        params(layout.total, 0.f) {}
  void load() { model.set_params(params); }
};

void require_data() {
  if (!test::zero_shot_data_here())
    GTEST_SKIP() << "no " << test::kZeroShotData << ": run `merino fetch zero-shot`";
}

// All parameters zero: every token has log-probability -ln V, so a choice's ll is -n_tokens ln V;
// acc picks the fewest tokens, acc_norm the smallest n_tokens / len(choice) (ties: first).
TEST(zero_shot_scoring, uniform_model_closed_form) {
  require_data();
  if (IsSkipped()) return;
  Gpt2SizedModel m(64, 4, true);
  m.load();
  std::ifstream in(test::kZeroShotData + "/LM_EVAL_ZERO_SHOT.md");
  std::map<std::string, nlohmann::json> first_doc;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("{\"task\"", 0) == 0) {
      const nlohmann::json ex = nlohmann::json::parse(line);
      if (ex["doc_index"] == 0 && ex.contains("choice_lengths")) first_doc.emplace(ex["task"], ex);
    }
  size_t checked = 0;
  for (const std::string name : {"arc_easy", "arc_challenge", "openbookqa", "piqa", "logiqa"}) {
    const nlohmann::json& ex = first_doc.at(name);
    std::vector<double> tokens, norm;
    for (size_t i = 0; i < ex["choice_lengths"].size(); ++i) {
      tokens.push_back(double(ex["gpt2_continuation_tokens"][i].size()));
      norm.push_back(tokens.back() / ex["choice_lengths"][i].get<double>());
    }
    const int gold = ex["gold"];
    const int pred = int(std::min_element(tokens.begin(), tokens.end()) - tokens.begin());
    const int pred_norm = int(std::min_element(norm.begin(), norm.end()) - norm.begin());
    const ZeroShotResult r = evaluate_zero_shot(
        m.model, test::gpt2(), load_zero_shot_task(name, test::kZeroShotRoot), {4, 1, nullptr});
    ASSERT_EQ(r.n, 1u);
    EXPECT_EQ(r.metrics.at(0).second.value, pred == gold ? 1.0 : 0.0) << name;
    EXPECT_EQ(r.metrics.at(1).first, "acc_norm");
    EXPECT_EQ(r.metrics.at(1).second.value, pred_norm == gold ? 1.0 : 0.0) << name;
    EXPECT_FALSE(r.metrics.at(0).second.stderr_.has_value());  // n = 1: "N/A"
    ++checked;
  }
  EXPECT_EQ(checked, 5u);
  // one-token choices tie, so the first wins: BoolQ answers "no" on the first 300 documents
  const ZeroShotTask boolq = load_zero_shot_task("boolq", test::kZeroShotRoot);
  double no = 0;
  for (size_t d = 0; d < 300; ++d) no += boolq.docs[d].gold == 0;
  const ZeroShotResult r = evaluate_zero_shot(m.model, test::gpt2(), boolq, {16, 300, nullptr});
  const double p = no / 300;
  EXPECT_DOUBLE_EQ(r.metrics.at(0).second.value, p);
  EXPECT_NEAR(*r.metrics.at(0).second.stderr_, std::sqrt(p * (1 - p) / 299), 1e-15);
}

// Position p predicts token T[p] (an untied head whose row for T[p] reads the one-hot position
// embedding through the final norm), whatever the input. LAMBADA's acc needs every token of
// the target word to be the argmax.
TEST(zero_shot_scoring, lambada_greedy_match_needs_every_token) {
  require_data();
  if (IsSkipped()) return;
  const int L = 24, D = 24;
  Gpt2SizedModel m(L, D, false);
  for (int p = 0; p < L; ++p) m.params[m.layout.wpe + size_t(p) * D + size_t(p)] = 1.f;
  for (int c = 0; c < D; ++c) m.params[m.layout.lnf_w + size_t(c)] = 1.f;
  std::map<int, int32_t> predict;  // position -> token
  auto set_prediction = [&](int pos, int32_t token) {
    ASSERT_FALSE(predict.count(pos) && predict[pos] != token);
    predict[pos] = token;
    m.params[m.layout.lm_head + size_t(token) * D + size_t(pos)] = 1.f;
  };
  const Tokenizer& gpt2 = test::gpt2();
  const std::string ctx_a = "so I turned to";  // the context every multi-token doc uses
  const int c = int(gpt2.encode(ctx_a).size());
  const Ids hastin = gpt2.encode(ctx_a + " Hastin");
  ASSERT_EQ(hastin.size(), size_t(c) + 2);  // [..., 33268, 259]
  set_prediction(c - 1, hastin[size_t(c)]);
  set_prediction(c, hastin[size_t(c) + 1]);
  const std::string ctx_b = "and then at last after all that";
  const int cb = int(gpt2.encode(ctx_b).size());
  ASSERT_NE(cb, c);
  set_prediction(cb - 1, gpt2.encode(ctx_b + " signs")[size_t(cb)]);
  m.load();

  ZeroShotTask task;
  task.info = zero_shot_task_info("lambada_openai");
  const std::vector<std::pair<std::string, bool>> docs = {
      {ctx_a + " Hastin", true},    // both tokens predicted
      {ctx_a + " Hastian", false},  // first token right, second not
      {ctx_a + " Bastin", false},   // second right, first not
      {ctx_b + " signs", true},     // one token, predicted
      {ctx_b + " sign", false},     // one token, not predicted
  };
  double expected = 0;
  for (const auto& [text, greedy] : docs) {
    task.docs.push_back(make_zero_shot_doc("lambada_openai", {{"text", text}}));
    expected += greedy;
  }
  // GPT-2: " Hastian" = [33268, 666], " Bastin" = [17520, 259]
  ASSERT_EQ(gpt2.encode(ctx_a + " Hastian")[size_t(c)], hastin[size_t(c)]);
  ASSERT_NE(gpt2.encode(ctx_a + " Hastian")[size_t(c) + 1], hastin[size_t(c) + 1]);
  ASSERT_NE(gpt2.encode(ctx_a + " Bastin")[size_t(c)], hastin[size_t(c)]);
  ASSERT_EQ(gpt2.encode(ctx_a + " Bastin")[size_t(c) + 1], hastin[size_t(c) + 1]);
  for (int batch : {1, 5}) {
    const ZeroShotResult r = evaluate_zero_shot(m.model, gpt2, task, {batch, 0, nullptr});
    ASSERT_EQ(r.metrics.at(1).first, "acc");
    EXPECT_DOUBLE_EQ(r.metrics.at(1).second.value, expected / 5) << "batch " << batch;
    EXPECT_EQ(r.metrics.at(0).first, "perplexity");
    EXPECT_GT(r.metrics.at(0).second.value, 1.0);
  }
}

// logits = c * wte[:, 0] for every position: the model prefers `token`, all others tie.
TEST(zero_shot_scoring, one_answer_model_gives_the_majority_class_rates) {
  require_data();
  if (IsSkipped()) return;
  const std::vector<std::tuple<std::string, std::string, double, double>> cases = {
      {"boolq", " yes", 2033.0 / 3270, 0.622},    {"cb", " False", 28.0 / 56, 0.500},
      {"sglue_rte", " True", 146.0 / 277, 0.527}, {"wic", " no", 319.0 / 638, 0.500},
      {"wsc", " no", 66.0 / 104, 0.635},          {"pubmedqa", " yes", 276.0 / 500, 0.552}};
  for (const auto& [name, answer, exact, published] : cases) {
    Gpt2SizedModel m(4, 4, true);
    const Ids ids = test::gpt2().encode(answer);
    ASSERT_EQ(ids.size(), 1u);
    m.params[m.layout.wte + size_t(ids[0]) * 4] = 1.f;
    m.params[m.layout.lnf_b] = 5.f;
    m.load();
    const ZeroShotResult r = evaluate_zero_shot(
        m.model, test::gpt2(), load_zero_shot_task(name, test::kZeroShotRoot), {64, 0, nullptr});
    EXPECT_DOUBLE_EQ(r.metrics.at(0).second.value, exact) << name;
    EXPECT_NEAR(r.metrics.at(0).second.value, published, 5e-4) << name;
  }
}

}  // namespace
}  // namespace merino::eval

// Incremental decoding through a KV cache against full recomputation, for every model family
// (GPT-2, OPT with its position offset and untied head, LLaMA with RoPE, GQA and `repeat: 2`,
// MeRino with heterogeneous blocks and width projections): in double the cached logits equal the
// full forward's, and greedy decoding with the cache picks the tokens argmax of a full forward
// over the whole sequence picks at every step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tests/model/model_test_util.h"

namespace merino::test {
namespace {

const char* const kFamilies[] = {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"};

template <class T>
std::vector<T> download_logits(Model<T>& m, const T* logits, int rows) {
  std::vector<T> h(size_t(rows) * m.config().padded_vocab());
  m.backend().download(h.data(), logits, h.size());
  return h;
}

// logits of every position of B sequences of Tn tokens, recomputed without a cache
template <class T>
std::vector<T> full_logits(Model<T>& m, const std::vector<int32_t>& tokens, int B, int Tn) {
  const std::vector<int32_t> ignore(tokens.size(), Model<T>::kIgnoreIndex);
  m.forward(tokens.data(), ignore.data(), B, Tn);
  return download_logits(m, m.logits(), B * Tn);
}

template <class T>
int argmax(const std::vector<T>& logits, size_t row, int V, int ld) {
  const T* r = logits.data() + row * size_t(ld);
  return int(std::max_element(r, r + V) - r);
}

// row r of a [rows, ld] buffer against row r2 of another, over the vocabulary columns
template <class T>
void expect_rows_near(const std::string& what, const std::vector<T>& a, size_t ra,
                      const std::vector<T>& b, size_t rb, int V, int ld, double tol) {
  for (int v = 0; v < V; ++v)
    ASSERT_NEAR(double(a[ra * ld + v]), double(b[rb * ld + v]), tol)
        << what << ": row " << ra << " vs " << rb << ", column " << v;
}

class KVCacheFamilies : public ::testing::TestWithParam<const char*> {};

TEST_P(KVCacheFamilies, CachedLogitsEqualFullForward) {
  const ModelConfig cfg = tiny_config(GetParam());
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  m.init_weights(7);
  const int B = 2, Tn = cfg.context_length, V = cfg.vocab_size, Vp = cfg.padded_vocab();
  const auto tokens = random_tokens(size_t(B) * Tn, V, 11);
  const auto full = full_logits(m, tokens, B, Tn);

  KVCache<double> cache(be, cfg, B, Tn);
  int past = 0;
  for (int n : {3, 1, Tn - 4}) {  // a prompt, then one token, then the rest at once
    std::vector<int32_t> chunk;
    for (int b = 0; b < B; ++b)
      chunk.insert(chunk.end(), tokens.begin() + b * Tn + past, tokens.begin() + b * Tn + past + n);
    const auto got = download_logits(m, m.forward_cached(cache, chunk.data(), B, n), B * n);
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < n; ++i)
        expect_rows_near("position " + std::to_string(past + i), got, size_t(b) * n + i, full,
                         size_t(b) * Tn + past + i, V, Vp, 1e-10);
    past += n;
  }
  EXPECT_EQ(cache.length, Tn);
}

TEST_P(KVCacheFamilies, GreedyWithCacheEqualsArgmaxOfFullRecomputation) {
  const ModelConfig cfg = tiny_config(GetParam());
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  m.init_weights(3);
  const int V = cfg.vocab_size, Vp = cfg.padded_vocab(), Tn = cfg.context_length;
  const std::vector<int32_t> prompt = {1, V - 1};

  std::vector<int32_t> cached = prompt;
  KVCache<double> cache(be, cfg, 1, Tn);
  auto logits = download_logits(m, m.forward_cached(cache, prompt.data(), 1, int(prompt.size())),
                                int(prompt.size()));
  size_t last = prompt.size() - 1;
  while (int(cached.size()) < Tn) {
    const int32_t next = argmax(logits, last, V, Vp);
    cached.push_back(next);
    if (int(cached.size()) == Tn) break;
    logits = download_logits(m, m.forward_cached(cache, &next, 1, 1), 1);
    last = 0;
  }

  std::vector<int32_t> recomputed = prompt;
  while (int(recomputed.size()) < Tn) {
    const int n = int(recomputed.size());
    const auto full = full_logits(m, recomputed, 1, n);
    recomputed.push_back(argmax(full, size_t(n - 1), V, Vp));
  }
  EXPECT_EQ(cached, recomputed);
}

// The prefix reuse of scoring: a context runs once, its cache is forked into B rows, and B
// continuations of different lengths (padded at the end) attend to it.
TEST_P(KVCacheFamilies, ForkedContextScoresContinuations) {
  const ModelConfig cfg = tiny_config(GetParam());
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  m.init_weights(5);
  const int V = cfg.vocab_size, Vp = cfg.padded_vocab(), Tn = cfg.context_length;
  const int ctx = 3, cont = Tn - ctx, B = 3;
  const auto context = random_tokens(ctx, V, 21);
  const auto conts = random_tokens(size_t(B) * cont, V, 22);
  std::vector<int32_t> whole;
  for (int b = 0; b < B; ++b) {
    whole.insert(whole.end(), context.begin(), context.end());
    whole.insert(whole.end(), conts.begin() + b * cont, conts.begin() + (b + 1) * cont);
  }
  const auto full = full_logits(m, whole, B, Tn);

  for (bool self_fork : {false, true}) {
    SCOPED_TRACE(self_fork ? "one cache forking itself" : "a context cache copied");
    KVCache<double> ctx_cache(be, cfg, self_fork ? B : 1, Tn);
    const auto ctx_logits =
        download_logits(m, m.forward_cached(ctx_cache, context.data(), 1, ctx), ctx);
    for (int b = 0; b < B; ++b)  // the context's last row predicts each continuation's first token
      expect_rows_near("context", ctx_logits, ctx - 1, full, size_t(b) * Tn + ctx - 1, V, Vp,
                       1e-10);
    KVCache<double> forked(be, cfg, B, Tn);
    KVCache<double>& many = self_fork ? ctx_cache : forked;
    many.copy_prefix_from(ctx_cache, 0, ctx);
    const auto got = download_logits(m, m.forward_cached(many, conts.data(), B, cont), B * cont);
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < cont; ++i)
        expect_rows_near("continuation " + std::to_string(b), got, size_t(b) * cont + i, full,
                         size_t(b) * Tn + ctx + i, V, Vp, 1e-10);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, KVCacheFamilies, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(KVCache, FloatCachedLogitsMatchFullForward) {
  const ModelConfig cfg = tiny_config("tiny-llama");
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  m.init_weights(9);
  const int Tn = cfg.context_length, Vp = cfg.padded_vocab();
  const auto tokens = random_tokens(size_t(Tn), cfg.vocab_size, 1);
  const auto full = full_logits(m, tokens, 1, Tn);
  KVCache<float> cache(be, cfg, 1, Tn);
  for (int t = 0; t < Tn; ++t) {
    const auto got = download_logits(m, m.forward_cached(cache, &tokens[size_t(t)], 1, 1), 1);
    expect_rows_near("position " + std::to_string(t), got, 0, full, size_t(t), cfg.vocab_size, Vp,
                     1e-4);
  }
}

TEST(KVCache, RefusesWhatDoesNotFit) {
  const ModelConfig cfg = tiny_config("tiny-gpt2");
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  EXPECT_THROW(KVCache<double>(be, cfg, 1, cfg.context_length + 1), std::invalid_argument);
  KVCache<double> cache(be, cfg, 2, 4);
  const std::vector<int32_t> tokens(5, 1);
  EXPECT_THROW(m.forward_cached(cache, tokens.data(), 1, 5), std::invalid_argument);  // capacity
  EXPECT_THROW(m.forward_cached(cache, tokens.data(), 3, 1), std::invalid_argument);  // rows
  m.forward_cached(cache, tokens.data(), 1, 4);
  EXPECT_THROW(m.forward_cached(cache, tokens.data(), 1, 1), std::invalid_argument);  // full
  KVCache<double> other(be, cfg, 1, 4);
  EXPECT_THROW(other.copy_prefix_from(cache, 0, 5), std::invalid_argument);
  const ModelConfig llama = tiny_config("tiny-llama");
  KVCache<double> wrong(be, llama, 1, 4);
  EXPECT_THROW(m.forward_cached(wrong, tokens.data(), 1, 1), std::invalid_argument);
}

}  // namespace
}  // namespace merino::test

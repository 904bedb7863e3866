// forward_cached's first_logit: the head runs only for positions first_logit .. Tn - 1 of each
// row, and those logits must equal, bit for bit, the matching rows of the call that computes
// every position (itself tested against full recomputation in test_kv_cache.cpp): the gather
// moves final hidden states, and a row's head product does not depend on how many rows run.
// Every family (MeRino's tied head through lm_proj included), float and double, several B and
// Tn, first_logit from 1 to Tn - 1; the cache the call leaves must be the same too.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tests/model/model_test_util.h"

namespace merino::test {
namespace {

template <class T>
std::vector<T> download_rows(Model<T>& m, const T* logits, int rows) {
  std::vector<T> h(size_t(rows) * m.config().padded_vocab());
  m.backend().download(h.data(), logits, h.size());
  return h;
}

// after a context of `past` tokens, B rows of Tn new tokens with logits from position `first`
// on, then one more token per row (to see the cache the call left)
template <class T>
std::pair<std::vector<T>, std::vector<T>> run(Model<T>& m, const std::vector<int32_t>& context,
                                              const std::vector<int32_t>& tokens,
                                              const std::vector<int32_t>& next, int B, int Tn,
                                              int first) {
  const int past = int(context.size()) / B;
  KVCache<T> cache(m.backend(), m.config(), B, past + Tn + 1);
  if (past > 0) m.forward_cached(cache, context.data(), B, past);
  auto logits = download_rows(m, m.forward_cached(cache, tokens.data(), B, Tn, first),
                              B * (Tn - first));
  auto after = download_rows(m, m.forward_cached(cache, next.data(), B, 1), B);
  return {std::move(logits), std::move(after)};
}

template <class T>
void check_family(const std::string& family) {
  SCOPED_TRACE(family);
  const ModelConfig cfg = tiny_config(family);
  CpuBackend<T> be;
  Model<T> m(cfg, be);
  m.init_weights(13);
  const int V = cfg.vocab_size, Vp = cfg.padded_vocab(), L = cfg.context_length;
  int checked = 0;
  for (int B : {1, 2, 3})
    for (int past : {0, 2})
      for (int Tn = 2; past + Tn + 1 <= L; ++Tn) {
        const auto context = random_tokens(size_t(B) * past, V, uint32_t(100 + B * 10 + Tn));
        const auto tokens = random_tokens(size_t(B) * Tn, V, uint32_t(200 + B * 10 + Tn));
        const auto next = random_tokens(size_t(B), V, uint32_t(300 + B));
        const auto [all, all_after] = run(m, context, tokens, next, B, Tn, 0);
        for (int first = 1; first < Tn; ++first) {
          SCOPED_TRACE("B " + std::to_string(B) + ", past " + std::to_string(past) + ", Tn " +
                       std::to_string(Tn) + ", first_logit " + std::to_string(first));
          const auto [some, some_after] = run(m, context, tokens, next, B, Tn, first);
          const int keep = Tn - first;
          for (int b = 0; b < B; ++b)
            for (int i = 0; i < keep; ++i)
              ASSERT_EQ(0, std::memcmp(&some[(size_t(b) * keep + i) * Vp],
                                       &all[(size_t(b) * Tn + first + i) * Vp], sizeof(T) * V))
                  << "row " << b << ", position " << first + i;
          for (int b = 0; b < B; ++b)
            ASSERT_EQ(0, std::memcmp(&some_after[size_t(b) * Vp], &all_after[size_t(b) * Vp],
                                     sizeof(T) * V))
                << "row " << b << ": the token after the call";
          ++checked;
        }
      }
  EXPECT_GT(checked, 20);
}

TEST(KVCacheLogitRows, EqualTheFullCallsRowsInDouble) {
  for (const char* family : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"})
    check_family<double>(family);
}

TEST(KVCacheLogitRows, EqualTheFullCallsRowsInFloat) {
  for (const char* family : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"})
    check_family<float>(family);
}

TEST(KVCacheLogitRows, RefusesAFirstLogitOutsideTheRow) {
  const ModelConfig cfg = tiny_config("tiny-gpt2");
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  KVCache<double> cache(be, cfg, 1, 4);
  const std::vector<int32_t> tokens(3, 1);
  EXPECT_THROW(m.forward_cached(cache, tokens.data(), 1, 3, 3), std::invalid_argument);
  EXPECT_THROW(m.forward_cached(cache, tokens.data(), 1, 3, -1), std::invalid_argument);
  EXPECT_EQ(cache.length, 0);
}

}  // namespace
}  // namespace merino::test

// The decode loop: greedy generation through the KV cache picks, at every step, the argmax of a
// full forward over the whole sequence recomputed without a cache; it stops at the stop token,
// at max_new_tokens and when the context is full; a seed fixes sampled output.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "generate/generator.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"

namespace merino::generate {
namespace {

ModelConfig config(const char* name) {
  return load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/model/configs/" + name +
                           ".yaml");
}

// greedy continuation by full recomputation: the whole sequence through forward() each step
std::vector<int32_t> greedy_without_cache(Model<float>& m, std::vector<int32_t> seq, int n) {
  const ModelConfig& cfg = m.config();
  std::vector<int32_t> out;
  std::vector<float> row(static_cast<size_t>(cfg.vocab_size));
  while (int(out.size()) < n) {
    const int Tn = int(seq.size());
    const std::vector<int32_t> ignore(seq.size(), Model<float>::kIgnoreIndex);
    m.forward(seq.data(), ignore.data(), 1, Tn);
    m.backend().download(row.data(), m.logits() + size_t(Tn - 1) * cfg.padded_vocab(), row.size());
    const int32_t next = argmax(row.data(), cfg.vocab_size);
    out.push_back(next);
    seq.push_back(next);
  }
  return out;
}

class GeneratorFamilies : public ::testing::TestWithParam<const char*> {};

TEST_P(GeneratorFamilies, GreedyEqualsArgmaxOfFullRecomputation) {
  const ModelConfig cfg = config(GetParam());
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  m.init_weights(17);
  const std::vector<int32_t> prompt = {3, 1};
  GenerateOptions o;
  o.max_new_tokens = 100;
  o.sampling.temperature = 0;
  std::vector<int32_t> streamed;
  const GenerateResult r = generate(m, prompt, o, [&](int32_t t) { streamed.push_back(t); });
  // the context holds context_length tokens; the last one's logits predict one more
  ASSERT_EQ(int(r.tokens.size()), cfg.context_length - int(prompt.size()) + 1);
  EXPECT_EQ(r.reason, StopReason::ContextFull);
  EXPECT_EQ(streamed, r.tokens);
  EXPECT_EQ(r.tokens, greedy_without_cache(m, prompt, int(r.tokens.size())));
}

INSTANTIATE_TEST_SUITE_P(Families, GeneratorFamilies,
                         ::testing::Values("tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"));

TEST(Generator, StopsAtTheStopTokenAndAtMaxNewTokens) {
  const ModelConfig cfg = config("tiny-llama");
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  m.init_weights(4);
  const std::vector<int32_t> prompt = {5};
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.max_new_tokens = 3;
  const GenerateResult three = generate(m, prompt, o);
  EXPECT_EQ(three.tokens.size(), 3u);
  EXPECT_EQ(three.reason, StopReason::MaxTokens);
  o.stop_token = three.tokens[1];
  const GenerateResult stopped = generate(m, prompt, o);
  EXPECT_EQ(stopped.reason, StopReason::StopToken);
  const size_t first_stop = three.tokens[0] == o.stop_token ? 0 : 1;
  EXPECT_EQ(stopped.tokens,
            std::vector<int32_t>(three.tokens.begin(), three.tokens.begin() + first_stop));
}

TEST(Generator, TheSeedFixesSampledText) {
  const ModelConfig cfg = config("tiny-gpt2");
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  m.init_weights(8);
  GenerateOptions o;
  o.sampling = {1.0, 10, 0.95};
  o.seed = 42;
  const std::vector<int32_t> prompt = {1, 2};
  const GenerateResult a = generate(m, prompt, o), b = generate(m, prompt, o);
  EXPECT_EQ(a.tokens, b.tokens);
  std::vector<std::vector<int32_t>> others;
  for (uint64_t seed = 43; seed < 48; ++seed) {
    o.seed = seed;
    others.push_back(generate(m, prompt, o).tokens);
  }
  EXPECT_NE(std::count(others.begin(), others.end(), a.tokens), 5);  // seeds matter
}

TEST(Generator, RefusesAPromptThatLeavesNoRoom) {
  const ModelConfig cfg = config("tiny-gpt2");
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  EXPECT_THROW(generate(m, std::vector<int32_t>(size_t(cfg.context_length), 1), {}),
               std::invalid_argument);
  EXPECT_THROW(generate(m, {}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace merino::generate

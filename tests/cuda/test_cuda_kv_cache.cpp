// Incremental decoding on the CUDA backend: the same weights and tokens give the CPU backend's
// cached logits (fp32), and greedy generation through the GPU's KV cache picks the CPU's
// tokens, for each model family of tests/cuda/configs (GPT-2 hd 64, LLaMA GQA 3:1 with
// `repeat: 2`, MeRino blocks). A forked context scores continuations as the CPU does. Without a
// device every test reports SKIPPED.
// Tolerance: both sides compute in fp32 in different orders (test_cuda_backend.cpp's reasoning):
// 1e-4 relative L2 over the logits of a step, where an indexing or position error is O(1).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/cuda/model_twins.h"
#include "tests/model/model_test_util.h"

namespace {

using merino::testing::rel_l2;
merino::ModelConfig config(const std::string& name) {
  return merino::testing::cuda_test_config(name);
}

std::vector<float> logits(merino::Model<float>& m, const float* dev, int rows) {
  std::vector<float> h(size_t(rows) * m.config().padded_vocab());
  m.backend().download(h.data(), dev, h.size());
  return h;
}

class CudaKVCache : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaKVCache, CachedLogitsMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::testing::ModelTwins<float> twins(cfg, 5);
  auto& [cpu_be, gpu_be, cpu, gpu] = twins;
  const int B = 2, T = cfg.context_length;
  const auto tokens = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 3);
  merino::KVCache<float> cc(cpu_be, cfg, B, T), gc(gpu_be, cfg, B, T);
  int past = 0;
  for (int n : {7, 1, 1, T - 9}) {
    SCOPED_TRACE("positions from " + std::to_string(past));
    std::vector<int32_t> chunk;
    for (int b = 0; b < B; ++b)
      chunk.insert(chunk.end(), tokens.begin() + b * T + past, tokens.begin() + b * T + past + n);
    const auto lc = logits(cpu, cpu.forward_cached(cc, chunk.data(), B, n), B * n);
    const auto lg = logits(gpu, gpu.forward_cached(gc, chunk.data(), B, n), B * n);
    EXPECT_LT(rel_l2(lg, lc), 1e-4);
    past += n;
  }
  // the context of row 0 forked into both rows, then different continuations
  merino::KVCache<float> cf(cpu_be, cfg, B, T), gf(gpu_be, cfg, B, T);
  cf.copy_prefix_from(cc, 0, 9);
  gf.copy_prefix_from(gc, 0, 9);
  const std::vector<int32_t> next(size_t(B) * 3, 1);
  const auto lc = logits(cpu, cpu.forward_cached(cf, next.data(), B, 3), B * 3);
  const auto lg = logits(gpu, gpu.forward_cached(gf, next.data(), B, 3), B * 3);
  EXPECT_LT(rel_l2(lg, lc), 1e-4);
}

TEST_P(CudaKVCache, GreedyGenerationMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::testing::ModelTwins<float> twins(cfg, 9);
  auto& [cpu_be, gpu_be, cpu, gpu] = twins;
  merino::generate::GenerateOptions o;
  o.max_new_tokens = 20;
  o.sampling.temperature = 0;
  const std::vector<int32_t> prompt = {1, 2, 3};
  EXPECT_EQ(merino::generate::generate(gpu, prompt, o).tokens,
            merino::generate::generate(cpu, prompt, o).tokens);
}

INSTANTIATE_TEST_SUITE_P(Families, CudaKVCache,
                         ::testing::Values("gpt2-hd64", "llama-gqa3", "merino-blocks"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace

// Parameter counts against published figures and against formulas written out here,
// independently of model/param_layout.cpp.
#include <gtest/gtest.h>

#include <string>

#include "model/config.h"
#include "model/param_layout.h"

namespace {

merino::ModelConfig shipped(const std::string& name) {
  return merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + name + ".yaml");
}

// One GPT-2/OPT layer: 2 LayerNorms (w+b), qkv (w+b), out proj (w+b), fc (w+b), proj (w+b).
long long gpt_layer(long long d, long long ffn) {
  return 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * ffn + ffn) + (ffn * d + d);
}

// One LLaMA layer: 2 RMSNorm weights, q/o [d, d], k/v [kv, d], gate/up/down.
long long llama_layer(long long d, long long kv, long long ffn) {
  return 2 * d + 2 * d * d + 2 * kv * d + 3 * d * ffn;
}

}  // namespace

TEST(ParamCount, Gpt2SmallMatchesPublished) {
  const auto cfg = shipped("gpt2-124m");
  EXPECT_EQ(merino::build_param_layout(cfg).total, 124439808u);  // HF gpt2 num_parameters()
  const long long expected = 50257LL * 768 + 1024LL * 768 + 12 * gpt_layer(768, 3072) + 2 * 768;
  EXPECT_EQ(expected, 124439808LL);
}

TEST(ParamCount, Opt125m) {
  // token table 50272 x 768, positions (2048 + 2) x 768, 12 layers, final LayerNorm
  const long long expected = 50272LL * 768 + 2050LL * 768 + 12 * gpt_layer(768, 3072) + 2 * 768;
  EXPECT_EQ(expected, 125239296LL);  // HF facebook/opt-125m num_parameters()
  EXPECT_EQ(merino::build_param_layout(shipped("opt-125m")).total, size_t(expected));
}

TEST(ParamCount, MobileLLM125m) {
  // kv width = 3 kv heads x head size 64 = 192
  const long long expected = 32000LL * 576 + 30 * llama_layer(576, 192, 1536) + 576;
  EXPECT_EQ(expected, 124635456LL);  // MobileLLM-125M as published
  EXPECT_EQ(merino::build_param_layout(shipped("mobilellm-125m")).total, size_t(expected));
  // layer sharing adds executed layers, not parameters
  EXPECT_EQ(merino::build_param_layout(shipped("mobilellm-125m-ls")).total, size_t(expected));
}

TEST(ParamCount, MobileLLM350m) {
  const long long expected = 32000LL * 960 + 32 * llama_layer(960, 320, 2560) + 960;
  EXPECT_EQ(merino::build_param_layout(shipped("mobilellm-350m")).total, size_t(expected));
  EXPECT_NEAR(double(expected), 345e6, 3e6);  // "~345M" in the paper
}

TEST(ParamCount, HeterogeneousBlocksWithSharingAndProjections) {
  const auto cfg = shipped("merino-example");
  // block 0: one shared set at 256 (ffn 1024); block 1: projection 256->384 + one shared set
  // (ffn 1152); block 2: projection 384->512 + two sets (ffn 1024); tied head via 512->256.
  const long long expected = 50257LL * 256 + 1024LL * 256 + gpt_layer(256, 1024) +
                             (384LL * 256 + 384) + gpt_layer(384, 1152) + (512LL * 384 + 512) +
                             2 * gpt_layer(512, 1024) + 2 * 512 + 256LL * 512;
  EXPECT_EQ(merino::build_param_layout(cfg).total, size_t(expected));
}

TEST(ParamCount, CountFromConfigAgreesWithLayoutForEveryShippedConfig) {
  for (const char* name : {"gpt2-124m", "opt-125m", "mobilellm-125m", "mobilellm-350m",
                           "mobilellm-125m-ls", "merino-example", "tiny"}) {
    SCOPED_TRACE(name);
    const auto cfg = shipped(name);
    const auto counts = merino::count_model(cfg);
    const auto layout = merino::build_param_layout(cfg);
    EXPECT_EQ(counts.params, layout.total);
    size_t sum = 0;
    for (const auto& e : layout.entries) {
      EXPECT_EQ(e.offset, sum) << e.name;  // contiguous, in table order
      sum += e.numel;
    }
    EXPECT_EQ(sum, layout.total);
  }
}

TEST(ParamCount, Gpt2TrainingFlopsFollowTheSixNRule) {
  // 6 * (non-embedding params + LM head matmul) + 12 * layers * d * T  (Kaplan et al. / PaLM)
  const auto cfg = shipped("gpt2-124m");
  const double non_embedding = 124439808.0 - 50257.0 * 768 - 1024.0 * 768;
  const double matmul = non_embedding - 12 * 4 * 768 - 2 * 768  // norms
                        - 12 * (3 * 768 + 768 + 3072 + 768);   // biases
  const double expected = 6 * (matmul + 50257.0 * 768) + 12.0 * 12 * 768 * 1024;
  EXPECT_NEAR(merino::count_model(cfg).training_flops_per_token, expected, 1.0);
}

TEST(ParamCount, HfTensorNames) {
  const auto gpt2 = merino::build_param_layout(shipped("gpt2-124m"));
  for (const char* n : {"wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.attn.c_attn.weight",
                        "h.11.mlp.c_proj.bias", "ln_f.bias"})
    EXPECT_NE(gpt2.find(n), nullptr) << n;
  EXPECT_EQ(gpt2.find("lm_head.weight"), nullptr);  // tied
  const auto llama = merino::build_param_layout(shipped("mobilellm-125m"));
  for (const char* n : {"model.embed_tokens.weight", "model.layers.0.self_attn.k_proj.weight",
                        "model.layers.29.mlp.gate_proj.weight", "model.norm.weight"})
    EXPECT_NE(llama.find(n), nullptr) << n;
  const auto* k = llama.find("model.layers.0.self_attn.k_proj.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->shape, (std::vector<int64_t>{192, 576}));
  // q, k, v adjacent so they form one fused matrix
  const auto* q = llama.find("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q->offset + q->numel, k->offset);
}

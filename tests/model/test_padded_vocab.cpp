// The padded vocabulary (ModelConfig::vocab_multiple, docs/MODEL.md): a model whose LM head,
// logits and loss run on padded_vocab() columns computes the same losses and gradients as the
// same model without padding (vocab_multiple = 1); the padding rows stay zero and never reach
// the host; checkpoints hold exactly vocab_size rows.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model/param_layout.h"
#include "model_test_util.h"
#include "temp_path.h"
#include "train/checkpoint.h"

namespace {

using merino::CpuBackend;
using merino::Model;
using merino::ModelConfig;

ModelConfig with_multiple(ModelConfig cfg, int multiple) {
  cfg.vocab_multiple = multiple;
  return cfg;
}

TEST(PaddedVocab, HeadIsLastAndItsPaddingLiesPastTheParameters) {
  for (const char* name : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    const ModelConfig cfg = merino::test::tiny_config(name);
    ASSERT_LT(cfg.vocab_size, 128);
    EXPECT_EQ(cfg.padded_vocab(), 128);
    EXPECT_EQ(with_multiple(cfg, 1).padded_vocab(), cfg.vocab_size);
    const merino::ParamLayout layout = merino::build_param_layout(cfg);
    const merino::ParamEntry& last = layout.entries.back();
    EXPECT_EQ(last.offset, layout.lm_head);
    EXPECT_EQ(last.offset + last.numel, layout.total);
    EXPECT_EQ(last.shape[0], cfg.vocab_size);  // a checkpoint sees vocab_size rows
    EXPECT_EQ(layout.head_padding, size_t(128 - cfg.vocab_size) * size_t(last.shape[1]));
    EXPECT_EQ(layout.total, merino::count_model(cfg).params);  // padding is no parameter
    EXPECT_EQ(merino::build_param_layout(with_multiple(cfg, 1)).head_padding, 0u);
  }
  ModelConfig gpt2 = merino::test::tiny_config("tiny-gpt2");
  gpt2.vocab_size = 50257;
  EXPECT_EQ(gpt2.padded_vocab(), 50304);
}

// Same seed, same weights, same batch: losses (per position) and every gradient agree between
// the padded and the unpadded model; the padding rows of the weights and of their gradient are
// exactly zero after the pass.
template <class T>
void expect_padding_changes_nothing(const ModelConfig& cfg, int multiple, double tol) {
  SCOPED_TRACE("V=" + std::to_string(cfg.vocab_size) + " multiple " + std::to_string(multiple));
  const int B = 2, Tn = cfg.context_length;
  const auto tokens = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 11);
  auto targets = merino::test::random_tokens(size_t(B) * Tn, cfg.vocab_size, 12);
  targets[1] = Model<T>::kIgnoreIndex;
  CpuBackend<T> be_plain, be_padded;
  Model<T> plain(with_multiple(cfg, 1), be_plain);
  Model<T> padded(with_multiple(cfg, multiple), be_padded);
  ASSERT_GT(padded.layout().head_padding, 0u);
  plain.init_weights(3);
  padded.init_weights(3);
  ASSERT_EQ(plain.get_params(), padded.get_params());

  std::vector<T> plain_losses, padded_losses;
  plain.forward(tokens.data(), targets.data(), B, Tn, plain_losses);
  padded.forward(tokens.data(), targets.data(), B, Tn, padded_losses);
  ASSERT_EQ(plain_losses.size(), padded_losses.size());
  for (size_t i = 0; i < plain_losses.size(); ++i)
    EXPECT_NEAR(padded_losses[i], plain_losses[i], tol) << "position " << i;

  const T plain_loss = plain.forward_backward(tokens.data(), targets.data(), B, Tn, T(0.5));
  const T padded_loss = padded.forward_backward(tokens.data(), targets.data(), B, Tn, T(0.5));
  EXPECT_NEAR(padded_loss, plain_loss, tol);
  const std::vector<T> g_plain = plain.get_grads(), g_padded = padded.get_grads();
  ASSERT_EQ(g_plain.size(), g_padded.size());
  double scale = 0;
  for (T g : g_plain) scale = std::max(scale, std::abs(double(g)));
  ASSERT_GT(scale, 0.0);
  for (size_t i = 0; i < g_plain.size(); ++i)
    ASSERT_NEAR(g_padded[i], g_plain[i], tol * scale) << "gradient " << i;

  const merino::ParamLayout& L = padded.layout();
  std::vector<T> pad_w(L.head_padding, T(1)), pad_g(L.head_padding, T(1));
  be_padded.download(pad_w.data(), padded.params() + L.total, L.head_padding);
  be_padded.download(pad_g.data(), padded.grads() + L.total, L.head_padding);
  for (size_t i = 0; i < L.head_padding; ++i) {
    ASSERT_EQ(pad_w[i], T(0)) << "padding weight " << i;
    ASSERT_EQ(pad_g[i], T(0)) << "padding gradient " << i;
  }
}

TEST(PaddedVocab, LossesAndGradientsEqualUnpaddedInDouble) {
  for (const char* name : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    const ModelConfig cfg = merino::test::tiny_config(name);
    expect_padding_changes_nothing<double>(cfg, 128, 1e-12);
    expect_padding_changes_nothing<double>(cfg, 8, 1e-12);
  }
}

TEST(PaddedVocab, LossesAndGradientsEqualUnpaddedInFloat) {
  for (const char* name : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    expect_padding_changes_nothing<float>(merino::test::tiny_config(name), 128, 2e-6);
  }
}

// GPT-2's odd vocabulary (50,257 -> 50,304) on a tiny body.
TEST(PaddedVocab, Gpt2SizedVocabularyEqualsUnpadded) {
  ModelConfig cfg = merino::test::tiny_config("tiny-gpt2");
  cfg.vocab_size = 50257;
  expect_padding_changes_nothing<float>(cfg, 128, 2e-6);
}

// Reads the JSON header of a safetensors file by hand: u64 little-endian length, then JSON.
nlohmann::json safetensors_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  std::string json(n, '\0');
  in.read(json.data(), std::streamsize(n));
  EXPECT_TRUE(in) << path;
  return nlohmann::json::parse(json);
}

// Checkpoints are Hugging-Face shaped: vocab_size rows of the token table and its moments;
// loading one into a padded model gives the losses of the model that wrote it, bit for bit.
TEST(PaddedVocab, CheckpointHoldsVocabSizeRowsAndRoundTrips) {
  for (const char* name : {"tiny-gpt2", "tiny-opt"}) {
    SCOPED_TRACE(name);
    const ModelConfig cfg = merino::test::tiny_config(name);
    CpuBackend<float> be;
    Model<float> m(cfg, be);
    m.init_weights(9);
    merino::CheckpointData d;
    d.params = m.get_params();
    d.exp_avg.assign(d.params.size(), 0.5f);
    d.exp_avg_sq.assign(d.params.size(), 0.25f);
    d.config_yaml = "model: {}\n";
    const std::string run = merino::test::temp_path(std::string("padded_") + name);
    std::filesystem::remove_all(run);
    const std::string dir = merino::save_checkpoint(run, m.layout(), d, 1);

    const nlohmann::json model = safetensors_header(dir + "/model.safetensors");
    const nlohmann::json moments = safetensors_header(dir + "/optimizer.safetensors");
    const int64_t E = cfg.embed_dim();
    const std::vector<int64_t> rows = {cfg.vocab_size, E};
    EXPECT_EQ(model.at("wte.weight").at("shape").get<std::vector<int64_t>>(), rows);
    EXPECT_EQ(moments.at("exp_avg.wte.weight").at("shape").get<std::vector<int64_t>>(), rows);
    if (!cfg.tie_embeddings) {
      const std::vector<int64_t> head = {cfg.vocab_size, cfg.final_dim()};
      EXPECT_EQ(model.at("lm_head.weight").at("shape").get<std::vector<int64_t>>(), head);
    }

    const merino::CheckpointData back = merino::load_checkpoint(dir, m.layout());
    CpuBackend<float> be2;
    Model<float> m2(cfg, be2);
    m2.set_params(back.params);
    const int Tn = cfg.context_length;
    const auto tokens = merino::test::random_tokens(size_t(Tn), cfg.vocab_size, 1);
    const auto targets = merino::test::random_tokens(size_t(Tn), cfg.vocab_size, 2);
    EXPECT_EQ(m2.forward(tokens.data(), targets.data(), 1, Tn),
              m.forward(tokens.data(), targets.data(), 1, Tn));
    std::filesystem::remove_all(run);
  }
}

}  // namespace

// Whole-model properties that finite differences cannot see: causality, the loss at
// initialisation, layer-sharing equivalences, float/double agreement, bad batches.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model_test_util.h"

namespace {

using merino::CpuBackend;
using merino::Model;

std::vector<double> per_position_losses(Model<double>& m, const std::vector<int32_t>& tokens,
                                        const std::vector<int32_t>& targets, int B, int Tn) {
  std::vector<double> losses;
  m.forward(tokens.data(), targets.data(), B, Tn, losses);
  return losses;
}

}  // namespace

TEST(ModelBehaviour, FutureTokensDoNotChangeEarlierLosses) {
  for (const char* name : {"tiny-gpt2", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    const auto cfg = merino::test::tiny_config(name);
    CpuBackend<double> be;
    Model<double> m(cfg, be);
    m.init_weights(5);
    const int Tn = cfg.context_length;
    auto tokens = merino::test::random_tokens(size_t(Tn), cfg.vocab_size, 1);
    const auto targets = merino::test::random_tokens(size_t(Tn), cfg.vocab_size, 2);
    const auto before = per_position_losses(m, tokens, targets, 1, Tn);
    const int changed = Tn - 2;
    tokens[changed] = (tokens[changed] + 1) % cfg.vocab_size;
    const auto after = per_position_losses(m, tokens, targets, 1, Tn);
    for (int t = 0; t < changed; ++t) EXPECT_EQ(before[t], after[t]) << "position " << t;
    EXPECT_NE(before[changed], after[changed]);
  }
}

TEST(ModelBehaviour, SmallInitLossIsLogVocab) {
  for (const char* name : {"tiny", "mobilellm-125m"}) {
    SCOPED_TRACE(name);
    auto cfg = merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + name + ".yaml");
    if (cfg.blocks[0].layers > 4) cfg.blocks[0].layers = 2;  // keep the test fast; shape kept
    cfg.init_std = 0.002;
    CpuBackend<float> be;
    Model<float> m(cfg, be);
    m.init_weights(3);
    const int B = 2, Tn = 32;
    const auto tokens = merino::test::random_tokens(B * Tn, cfg.vocab_size, 4);
    const auto targets = merino::test::random_tokens(B * Tn, cfg.vocab_size, 5);
    const float loss = m.forward(tokens.data(), targets.data(), B, Tn);
    EXPECT_NEAR(loss, std::log(double(cfg.vocab_size)), 0.05);
  }
}

TEST(ModelBehaviour, RepeatEqualsSharedLayers) {
  // MobileLLM-LS (one set run twice) and a MeRino shared block of two layers are one model
  auto repeat = merino::test::tiny_config("tiny-llama");
  repeat.blocks[0].layers = 1;
  repeat.blocks[0].repeat = 2;
  auto shared = repeat;
  shared.blocks[0].layers = 2;
  shared.blocks[0].repeat = 1;
  shared.blocks[0].share = true;
  auto unshared = shared;
  unshared.blocks[0].share = false;

  CpuBackend<double> be;
  Model<double> a(repeat, be), b(shared, be), c(unshared, be);
  ASSERT_EQ(a.num_params(), b.num_params());
  a.init_weights(11);
  const auto w = a.get_params();
  b.set_params(w);
  // the unshared model gets the one layer's weights in both of its layers
  std::vector<double> wc(c.num_params());
  for (const auto& e : c.layout().entries) {
    std::string src = e.name;
    const std::string l1 = "model.layers.1.";
    if (src.rfind(l1, 0) == 0) src = "model.layers.0." + src.substr(l1.size());
    const auto* from = a.layout().find(src);
    ASSERT_NE(from, nullptr) << src;
    std::copy(w.begin() + from->offset, w.begin() + from->offset + from->numel, wc.begin() + e.offset);
  }
  c.set_params(wc);
  const int Tn = repeat.context_length;
  const auto tokens = merino::test::random_tokens(Tn, repeat.vocab_size, 1);
  const auto targets = merino::test::random_tokens(Tn, repeat.vocab_size, 2);
  const double la = a.forward(tokens.data(), targets.data(), 1, Tn);
  EXPECT_EQ(la, b.forward(tokens.data(), targets.data(), 1, Tn));
  EXPECT_NEAR(la, c.forward(tokens.data(), targets.data(), 1, Tn), 1e-12);
}

TEST(ModelBehaviour, FloatAgreesWithDouble) {
  for (const char* name : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    const auto cfg = merino::test::tiny_config(name);
    CpuBackend<double> bd;
    CpuBackend<float> bf;
    Model<double> md(cfg, bd);
    Model<float> mf(cfg, bf);
    md.init_weights(21);
    mf.init_weights(21);
    const int B = 2, Tn = cfg.context_length;
    const auto tokens = merino::test::random_tokens(B * Tn, cfg.vocab_size, 1);
    const auto targets = merino::test::random_tokens(B * Tn, cfg.vocab_size, 2);
    md.zero_grads();
    mf.zero_grads();
    const double ld = md.forward_backward(tokens.data(), targets.data(), B, Tn);
    const float lf = mf.forward_backward(tokens.data(), targets.data(), B, Tn);
    EXPECT_NEAR(lf, ld, 1e-5 * std::abs(ld));
    const auto gd = md.get_grads();
    const auto gf = mf.get_grads();
    double max_g = 0, max_diff = 0;
    for (size_t i = 0; i < gd.size(); ++i) {
      max_g = std::max(max_g, std::abs(gd[i]));
      max_diff = std::max(max_diff, std::abs(gd[i] - double(gf[i])));
    }
    EXPECT_LT(max_diff, 1e-4 * max_g);
  }
}

// Mixed precision against double from the same weights (the bf16 working copy): only the bf16
// rounding of each stored activation separates them, about 2^-9 relative per value, compounded
// over the ~15 ops a layer stacks, so the loss agrees to well under 1% and the gradients to a
// few percent norm-wise (measured: at most 2e-2 over 8 seeds). A missed rounding or a wrong
// fp32/bf16 buffer shows up as O(1) errors.
// Blocks narrower than 8 are widened to 16: a norm over 4 features divides by their spread, which
// one bf16 rounding can move by tens of percent on an unlucky row (tiny-merino's width-4 block
// gives gradient errors from 1% to 47% depending on the seed), so it measures the conditioning
// of the config, not the backend.
TEST(ModelBehaviour, Bf16TracksDouble) {
  for (const char* name : {"tiny-gpt2", "tiny-opt", "tiny-llama", "tiny-merino"}) {
    SCOPED_TRACE(name);
    auto cfg = merino::test::tiny_config(name);
    for (merino::BlockConfig& b : cfg.blocks)
      if (b.d_model < 8) b.d_model = 16, b.n_heads = b.n_kv_heads = 2;
    CpuBackend<double> bd;
    CpuBackend<merino::bf16> bh;
    Model<double> md(cfg, bd);
    Model<merino::bf16> mh(cfg, bh);
    mh.init_weights(21);
    std::vector<merino::bf16> working(mh.num_params());
    bh.download(working.data(), mh.params(), working.size());
    const std::vector<float> master = mh.get_params();
    std::vector<double> w(working.size());
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = double(merino::to_float(working[i]));
      ASSERT_LE(std::abs(w[i] - master[i]), std::abs(master[i]) * 0x1p-7) << i;  // one bf16 ulp
    }
    md.set_params(w);
    const int B = 2, Tn = cfg.context_length;
    const auto tokens = merino::test::random_tokens(B * Tn, cfg.vocab_size, 1);
    const auto targets = merino::test::random_tokens(B * Tn, cfg.vocab_size, 2);
    md.zero_grads();
    mh.zero_grads();
    const double ld = md.forward_backward(tokens.data(), targets.data(), B, Tn);
    const float lh = mh.forward_backward(tokens.data(), targets.data(), B, Tn);
    EXPECT_NEAR(lh, ld, 5e-3 * std::abs(ld));
    const auto gd = md.get_grads();
    const auto gh = mh.get_grads();
    double norm = 0, diff = 0;
    for (size_t i = 0; i < gd.size(); ++i) {
      norm += gd[i] * gd[i];
      diff += (gd[i] - double(gh[i])) * (gd[i] - double(gh[i]));
    }
    EXPECT_LT(std::sqrt(diff), 3e-2 * std::sqrt(norm));
  }
}

TEST(ModelBehaviour, GradientsAccumulateOverCalls) {
  const auto cfg = merino::test::tiny_config("tiny-merino");
  CpuBackend<double> be;
  Model<double> m(cfg, be);
  m.init_weights(8);
  const int Tn = cfg.context_length;
  const auto tokens = merino::test::random_tokens(Tn, cfg.vocab_size, 1);
  const auto targets = merino::test::random_tokens(Tn, cfg.vocab_size, 2);
  m.zero_grads();
  m.forward_backward(tokens.data(), targets.data(), 1, Tn);
  const auto once = m.get_grads();
  m.forward_backward(tokens.data(), targets.data(), 1, Tn);
  const auto twice = m.get_grads();
  for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice[i], 2 * once[i], 1e-12) << i;
}

TEST(ModelBehaviour, RejectsBadBatches) {
  const auto cfg = merino::test::tiny_config("tiny-gpt2");
  CpuBackend<float> be;
  Model<float> m(cfg, be);
  std::vector<int32_t> tokens(cfg.context_length + 1, 0), targets(tokens.size(), 0);
  EXPECT_THROW(m.forward(tokens.data(), targets.data(), 1, cfg.context_length + 1), std::invalid_argument);
  tokens[2] = cfg.vocab_size;
  EXPECT_THROW(m.forward(tokens.data(), targets.data(), 1, 4), std::invalid_argument);
  tokens[2] = 0;
  targets[3] = -7;
  EXPECT_THROW(m.forward(tokens.data(), targets.data(), 1, 4), std::invalid_argument);
}

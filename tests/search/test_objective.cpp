// The entropy objective: monotone in width, depth and FFN ratio; the effectiveness bound and
// the depth-imbalance penalty act as docs/NAS.md derives; objectives are found by name.
#include <gtest/gtest.h>

#include <cmath>

#include "base/errors.h"
#include "search/objective.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

namespace {

ms::ObjectiveValue subspace(const ms::Candidate& c, ms::ObjectiveParams p = {}) {
  return ms::find_objective("subspace").fn(c, p);
}

}  // namespace

TEST(search_objective, EntropyGrowsWithWidth) {
  double last = 0;
  for (int width : {128, 256, 384, 512, 768, 1024}) {
    const double h = subspace(candidate({{width, width / 64, 8, 4}})).entropy;
    EXPECT_GT(h, last) << "width " << width;
    last = h;
  }
}

TEST(search_objective, EntropyGrowsWithDepthAndFfnRatio) {
  double last = 0;
  for (int depth = 1; depth <= 12; ++depth) {
    const double h = subspace(candidate({{512, 8, 8, depth}})).entropy;
    EXPECT_GT(h, last) << "depth " << depth;
    last = h;
  }
  EXPECT_GT(subspace(candidate({{512, 8, 9, 4}})).entropy,
            subspace(candidate({{512, 8, 8, 4}})).entropy);
}

TEST(search_objective, SubspaceEntropyFormula) {
  // per executed layer: attention log E + log E, FFN log E + log(R E); weights alpha, beta
  ms::ObjectiveParams p;
  p.attention_weight = 0.5;
  p.ffn_weight = 2.0;
  const auto v = subspace(candidate({{512, 8, 8, 3}, {768, 12, 6, 3}}), p);
  const double expected =
      3 * (0.5 * 2 * std::log(512.0) + 2.0 * (std::log(512.0) + std::log(2048.0))) +
      3 * (0.5 * 2 * std::log(768.0) + 2.0 * (std::log(768.0) + std::log(2304.0))) +
      std::log(512.0) + std::log(768.0);  // proj_in 512 -> 768, lm_proj 768 -> 512
  EXPECT_NEAR(v.entropy, expected, 1e-9);
  EXPECT_NEAR(v.score, expected, 1e-9);  // equal depths: no penalty
}

TEST(search_objective, EffectivenessIsDepthOverGeometricMeanWidth) {
  // 4 linear maps per layer with fan-ins E, E, E, 4E: geometric mean E * 4^(1/4)
  const auto v = subspace(candidate({{512, 8, 8, 10}}));
  EXPECT_NEAR(v.rho, 40 / (512 * std::pow(4.0, 0.25)), 1e-12);
  EXPECT_TRUE(v.effective);  // 0.055 <= 0.3
  // GPT-2 124M's shape, for the calibration table in docs/NAS.md
  EXPECT_NEAR(subspace(candidate({{768, 12, 8, 12}})).rho, 0.0442, 1e-4);
  // deeper at the same width raises rho past the bound
  ms::ObjectiveParams tight;
  tight.rho_max = 0.1;
  EXPECT_FALSE(subspace(candidate({{512, 8, 8, 20}}), tight).effective);
  EXPECT_TRUE(subspace(candidate({{512, 8, 8, 10}}), tight).effective);
}

TEST(search_objective, WidthProjectionTermsClosedForm) {
  // 128 -> 256 -> 128: proj_in into block 2 (fan-in 128) and into block 3 (fan-in 256); the
  // last width equals the first, so no lm_proj. Each adds log(fan-in) once, whatever the depth.
  const auto c = candidate({{128, 4, 8, 5}, {256, 4, 8, 5}, {128, 4, 8, 5}});
  ms::ObjectiveParams off;
  off.projection_weight = 0;
  const double layers =
      10 * (3 * std::log(128.0) + std::log(512.0)) + 5 * (3 * std::log(256.0) + std::log(1024.0));
  EXPECT_NEAR(subspace(c, off).entropy, layers, 1e-9);
  EXPECT_NEAR(subspace(c).entropy, layers + std::log(128.0) + std::log(256.0), 1e-9);
  ms::ObjectiveParams half;
  half.projection_weight = 0.5;
  EXPECT_NEAR(subspace(c, half).entropy, layers + 0.5 * (std::log(128.0) + std::log(256.0)), 1e-9);
  // rho counts the two projections as linear maps: 60 + 2 maps, mean log fan-in over all 62
  const double maps = 62, unweighted = layers + std::log(128.0) + std::log(256.0);
  EXPECT_NEAR(subspace(c).rho, maps / std::exp(unweighted / maps), 1e-12);
  // 256 -> 384: proj_in (fan-in 256) and lm_proj back to the tied width (fan-in 384)
  const auto two = candidate({{256, 4, 8, 1}, {384, 6, 8, 1}});
  EXPECT_NEAR(subspace(two).entropy - subspace(two, off).entropy, std::log(256.0) + std::log(384.0),
              1e-9);
  // one width throughout: no projection, the term is zero
  const auto uniform = candidate({{256, 4, 8, 2}, {256, 4, 8, 2}});
  EXPECT_EQ(subspace(uniform).entropy, subspace(uniform, off).entropy);
  EXPECT_EQ(subspace(uniform).rho, subspace(uniform, off).rho);
}

TEST(search_objective, WidthProjectionTermIsMonotone) {
  ms::ObjectiveParams off;
  off.projection_weight = 0;
  // the entropy grows with the second block's width, across the projections into and out of it
  // (256 itself is left out: at equal widths there are no projections and no channels to count)
  double last = 0;
  for (int width : {64, 128, 192, 320, 384, 512, 768, 1024}) {
    const auto c = candidate({{256, 4, 8, 2}, {width, width / 32, 8, 2}});
    const double h = subspace(c).entropy;
    EXPECT_GT(h, last) << "width " << width;
    last = h;
  }
  // a projection's term depends on its fan-in only: narrowing its output never adds entropy,
  // widening its input does
  auto term = [&](int from, int to) {
    const auto c =
        candidate({{64, 2, 8, 1}, {from, from / 32, 8, 1}, {to, to / 32, 8, 1}, {64, 2, 8, 1}});
    return subspace(c).entropy - subspace(c, off).entropy;
  };
  for (int to : {512, 384, 256, 128}) EXPECT_LE(term(1024, to), term(1024, 768) + 1e-9) << to;
  EXPECT_GT(term(1024, 256), term(512, 256));
  for (int from : {128, 256, 512}) EXPECT_GE(term(from, 96), 0) << from;
}

TEST(search_objective, UnequalDepthsArePenalised) {
  const auto even = subspace(candidate({{512, 8, 8, 6}, {512, 8, 8, 6}}));
  const auto uneven = subspace(candidate({{512, 8, 8, 2}, {512, 8, 8, 10}}));
  EXPECT_NEAR(even.entropy, uneven.entropy, 1e-9);  // same layers in total
  EXPECT_GT(even.score, uneven.score);
  // depths 2 and 10: mean 6, variance 16, cv^2 = 4/9
  EXPECT_NEAR(uneven.score, uneven.entropy * std::exp(-0.5 * 16.0 / 36.0), 1e-9);
}

TEST(search_objective, VariantsAreFoundByName) {
  EXPECT_EQ(ms::objectives().size(), 2u);
  const auto c = candidate({{512, 8, 8, 4}});
  const double ffn = ms::find_objective("ffn-only").fn(c, {}).entropy;
  EXPECT_NEAR(ffn, 4 * (std::log(512.0) + std::log(2048.0)), 1e-9);
  EXPECT_LT(ffn, subspace(c).entropy);
  EXPECT_THROW(ms::find_objective("zen"), merino::ConfigError);
}

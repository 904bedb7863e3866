// The width projections the search's multi-width models need (proj_in, lm_proj) keep the
// residual stream's variance at initialisation (model/init.cpp, docs/NAS.md "Width
// projections"): y = W x for x of unit variance has unit variance, whether the map widens or
// narrows. At init_std 0.02 it would be d_in * 0.02^2 (0.05 at 128), which this test rejects.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "model/init.h"
#include "model/param_layout.h"
#include "search/space.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

namespace {

// Mean output variance of y = W x over `samples` inputs with independent N(0, 1) coordinates
// (a second generator, independent of the init's).
double output_variance(const std::vector<double>& w, size_t offset, int d_out, int d_in) {
  merino::NormalRng rng(12345);
  double sum_sq = 0;
  const int samples = 64;
  std::vector<double> x(static_cast<size_t>(d_in));
  for (int s = 0; s < samples; ++s) {
    for (double& v : x) v = rng.normal();
    for (int o = 0; o < d_out; ++o) {
      double y = 0;
      for (int i = 0; i < d_in; ++i) y += w[offset + size_t(o) * d_in + i] * x[size_t(i)];
      sum_sq += y * y;
    }
  }
  return sum_sq / (double(samples) * d_out);
}

}  // namespace

TEST(search_projection_init, WidthProjectionsKeepUnitVariance) {
  ms::SearchSpace space;
  space.n_blocks = 3;
  space.seq_len = 64;
  // 128 -> 384 (widens), 384 -> 192 (narrows), lm_proj 192 -> 128
  const merino::ModelConfig cfg =
      ms::to_model_config(candidate({{128, 4, 8, 1}, {384, 6, 4, 1}, {192, 6, 4, 1}}), space, "p");
  const merino::ParamLayout layout = merino::build_param_layout(cfg);
  const std::vector<double> w = merino::initial_weights<double>(cfg, layout, 7);
  int checked = 0;
  for (const merino::ParamEntry& e : layout.entries) {
    const bool proj_in = e.name.find("proj_in.weight") != std::string::npos;
    if (!proj_in && e.name != "lm_proj.weight") continue;
    const int d_out = int(e.shape[0]), d_in = int(e.shape[1]);
    EXPECT_NEAR(output_variance(w, e.offset, d_out, d_in), 1.0, 0.1) << e.name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);  // two proj_in and lm_proj
}

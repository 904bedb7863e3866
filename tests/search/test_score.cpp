// `merino search --score`: a model YAML maps back to the candidate it was written from, models
// outside the search space are refused with the reason, and the JSON line carries the objective
// and costs the search computes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/errors.h"
#include "base/splitmix.h"
#include "model/param_layout.h"
#include "search/evolution.h"
#include "search/mutation.h"
#include "search/report.h"
#include "search_test_util.h"

using merino::search::testing::candidate;
namespace ms = merino::search;

TEST(search_score, ModelConfigMapsBackToItsCandidateOnRandomCandidates) {
  for (const bool share : {false, true}) {
    SCOPED_TRACE(share ? "shared" : "unshared");
    ms::SearchSpace space;
    space.n_blocks = 3;
    space.seq_len = 256;
    space.share = share;
    merino::SplitMix64 rng(11);
    ms::Candidate c = ms::smallest_candidate(space);
    int checked = 0;
    for (int i = 0; i < 2000; ++i) {
      ms::Candidate next = c;
      if (!ms::mutate(next, space, rng)) continue;
      c = next;
      const merino::ModelConfig m = ms::to_model_config(c, space, "walk");
      const ms::SearchSpace back = ms::space_for(m);
      EXPECT_EQ(back.seq_len, 256);
      EXPECT_EQ(back.n_blocks, 3);
      EXPECT_EQ(back.vocab_size, 50257);
      ASSERT_TRUE(ms::from_model_config(m, back) == c) << "step " << i;
      ++checked;
    }
    EXPECT_GT(checked, 500);
  }
}

TEST(search_score, ModelsOutsideTheSpaceAreConfigErrorsNamingTheReason) {
  ms::SearchSpace space;
  space.n_blocks = 2;
  space.seq_len = 128;
  space.share = true;
  const ms::Candidate c = candidate({{128, 4, 8, 3}, {256, 4, 5, 2}});
  auto refused = [&](merino::ModelConfig m, const std::string& reason) {
    try {
      ms::from_model_config(m, ms::space_for(m));
      ADD_FAILURE() << "accepted; expected: " << reason;
    } catch (const merino::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  };
  const merino::ModelConfig ok = ms::to_model_config(c, space, "ok");
  EXPECT_TRUE(ms::from_model_config(ok, ms::space_for(ok)) == c);

  merino::ModelConfig m = ok;
  m.blocks[1].share = false;  // two layers with their own weights
  refused(m, "block 2: its layers must share one parameter set");
  m = ok;
  m.blocks[0].layers = 1;  // one layer: shared or not is the same model
  m.blocks[0].share = false;
  EXPECT_EQ(ms::from_model_config(m, ms::space_for(m)).blocks[0].depth, 1);
  try {  // a shared model scored in an unshared space
    ms::SearchSpace unshared = ms::space_for(ok);
    unshared.share = false;
    ms::from_model_config(ok, unshared);
    ADD_FAILURE() << "a shared model accepted in an unshared space";
  } catch (const merino::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("block 1: its layers must each have their own"),
              std::string::npos)
        << e.what();
  }
  m = ok;
  m.norm = merino::NormKind::RMSNorm;
  refused(m, "GPT-2 style");
  m = ok;
  m.tie_embeddings = false;
  refused(m, "GPT-2 style");
  m = ok;
  m.blocks[0].ffn_dim = 500;  // not R x 128 for a ratio in steps of 0.5
  refused(m,
          "block 1: ffn_dim 500 is not R x d_model rounded to a multiple of 8 for R from 1.0 "
          "to 6.0");
  m = ok;
  m.blocks[1].n_heads = 16;  // head size 16
  m.blocks[1].n_kv_heads = 16;
  refused(m, "block 2: head size must be a multiple of 16 from 32 to 128");
  m = ok;
  m.blocks[0].n_kv_heads = 2;
  refused(m, "grouped-query");
  m = ok;
  m.blocks[0].layers = 65;
  refused(m, "block 1: layers must be from 1 to 64");
  m = ok;
  m.blocks[0].repeat = 2;
  refused(m, "repeat must be 1");
  m = ok;
  m.blocks.resize(9, m.blocks[0]);
  refused(m, "9 blocks, the search has 1 to 8");
  // a space with another block count than the model's
  ms::SearchSpace one_block = ms::space_for(ok);
  one_block.n_blocks = 1;
  EXPECT_THROW(ms::from_model_config(ok, one_block), merino::ConfigError);
}

TEST(search_score, JsonLineCarriesTheSearchsObjectiveAndCosts) {
  ms::SearchSpace space;
  space.n_blocks = 2;
  space.seq_len = 128;
  space.share = true;
  const ms::Candidate c = candidate({{128, 4, 8, 3}, {256, 4, 5, 2}});
  const ms::ObjectiveParams op;
  const ms::Evaluation e = ms::make_evaluator(space, ms::find_device("phone-cpu"),
                                              ms::find_objective("subspace"), op)(c);
  const auto j =
      nlohmann::json::parse(ms::score_json("m.yaml", "subspace", op, "phone-cpu", space, c, e));
  EXPECT_EQ(j["file"], "m.yaml");
  EXPECT_EQ(j["objective"], "subspace");
  EXPECT_EQ(j["device"], "phone-cpu");
  EXPECT_EQ(j["seq_len"], 128);
  EXPECT_DOUBLE_EQ(j["rho_max"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(j["entropy"].get<double>(), e.value.entropy);
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), e.value.score);
  EXPECT_DOUBLE_EQ(j["rho"].get<double>(), e.value.rho);
  EXPECT_EQ(j["effective"], e.value.effective);
  EXPECT_EQ(j["params"].get<size_t>(),
            merino::count_model(ms::to_model_config(c, space, "m")).params);
  EXPECT_DOUBLE_EQ(j["flops"].get<double>(), e.costs.flops);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), e.costs.latency * 1e3);
  ASSERT_EQ(j["blocks"].size(), 2u);
  EXPECT_EQ(j["blocks"][1]["d_model"], 256);
  EXPECT_EQ(j["blocks"][1]["ffn_dim"], 640);
  EXPECT_EQ(j["blocks"][0]["layers"], 3);
}

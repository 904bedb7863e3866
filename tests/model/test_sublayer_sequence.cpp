// The search's latency timer (search/op_timer.h) must measure what the model runs: for a
// search candidate's model, the backend calls of one forward layer are recorded and compared,
// name and sizes, with the calls the timer's Attention and Ffn operations issue for that shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "model/model.h"
#include "recording_backend.h"
#include "search/op_timer.h"
#include "search/space.h"

namespace merino {
namespace {

using Ops = std::vector<std::string>;

constexpr int kSeq = 16, kWidth = 64, kHeads = 2, kFfnHalves = 8, kDepth = 2;

ModelConfig candidate_model() {
  search::SearchSpace space;
  space.vocab_size = 64;
  space.seq_len = kSeq;
  space.n_blocks = 1;
  search::Candidate c;
  c.n_blocks = 1;
  c.blocks[0] = {kWidth, kHeads, kFfnHalves, kDepth};
  return search::to_model_config(c, space, "sequence");
}

Ops timer_ops(const search::Op& op) {
  test::RecordingBackend be;
  const search::OpRun run(op, be);
  be.clear();  // setting up uploads values; only the run's calls count
  run.run();
  return be.ops();
}

TEST(SublayerSequence, TimerIssuesTheModelsLayerCalls) {
  const ModelConfig cfg = candidate_model();
  test::RecordingBackend be;
  Model<float> model(cfg, be);
  model.init_weights(1);
  std::vector<int32_t> tokens(kSeq), targets(kSeq);
  for (int i = 0; i < kSeq; ++i) tokens[size_t(i)] = i, targets[size_t(i)] = (i + 1) % kSeq;
  be.clear();
  model.forward(tokens.data(), targets.data(), 1, kSeq);
  const Ops& all = be.ops();

  // embedding, the first layer's norm, the layers, the head's GEMM, the loss
  ASSERT_GT(all.size(), 4u);
  EXPECT_EQ(all[0].rfind("embedding_forward", 0), 0u) << all[0];
  EXPECT_EQ(all[1].rfind("layernorm_forward", 0), 0u) << all[1];
  EXPECT_EQ(all[all.size() - 2].rfind("matmul_forward", 0), 0u) << all[all.size() - 2];
  EXPECT_EQ(all.back().rfind("crossentropy_forward", 0), 0u) << all.back();
  const Ops layers(all.begin() + 2, all.end() - 2);

  const int ffn = cfg.blocks[0].ffn_dim;
  const Ops attention = timer_ops({search::OpKind::Attention, kSeq, kWidth, kHeads});
  const Ops mlp = timer_ops({search::OpKind::Ffn, kSeq, kWidth, ffn});
  // an anchor independent of both: the attention call for this shape
  EXPECT_NE(std::find(attention.begin(), attention.end(), "attention_forward 1 16 2 2 32"),
            attention.end());
  Ops expected;
  for (int l = 0; l < kDepth; ++l) {
    expected.insert(expected.end(), attention.begin(), attention.end());
    expected.insert(expected.end(), mlp.begin(), mlp.end());
  }
  EXPECT_EQ(layers, expected);
}

}  // namespace
}  // namespace merino

// How well `merino search --measure`'s latency table predicts a model's forward pass on this CPU:
// the table's sum for a candidate (each operation timed alone, search/op_timer.h) against timing
// Model<float>::forward of that candidate, the reference, in the same run. Counters:
// predicted_ms (the table), forward_ms (the fastest forward pass) and table_over_forward.
// Candidates change width between blocks, so proj_in and lm_proj are in. That the table runs
// the model's calls is tested (CTest search.search_measured_forward.*); this measures how close
// its seconds come.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

#include "base/splitmix.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "search/measured_cost.h"
#include "search/op_timer.h"

namespace {

namespace ms = merino::search;

ms::Candidate candidate(std::initializer_list<ms::BlockGene> blocks) {
  ms::Candidate c;
  for (const ms::BlockGene& b : blocks) c.blocks[c.n_blocks++] = b;
  return c;
}

void table_vs_forward(benchmark::State& state, const ms::Candidate& c, int vocab, int seq_len) {
  ms::SearchSpace space;
  space.vocab_size = vocab;
  space.seq_len = seq_len;
  space.n_blocks = c.n_blocks;
  ms::MeasuredLatency table(ms::LatencyTable{ms::timing_threads(), {}}, ms::time_op);
  const double predicted = table.latency(c, space);

  merino::CpuBackend<float> be;
  merino::Model<float> model(ms::to_model_config(c, space, "timed"), be);
  model.init_weights(1);
  merino::SplitMix64 rng(3);
  std::vector<int32_t> tokens(static_cast<size_t>(seq_len)), targets(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = int32_t(rng.below(uint64_t(vocab)));
    targets[i] = int32_t(rng.below(uint64_t(vocab)));
  }
  model.forward(tokens.data(), targets.data(), 1, seq_len);  // allocates the activations
  double fastest = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(tokens.data(), targets.data(), 1, seq_len);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(s);
    fastest = std::min(fastest, s);
  }
  state.counters["predicted_ms"] = predicted * 1e3;
  state.counters["forward_ms"] = fastest * 1e3;
  state.counters["table_over_forward"] = predicted / fastest;
}

// widths 128 then 192: the model CTest search.search_measured_forward records
void BM_SmallTwoBlocks(benchmark::State& state) {
  table_vs_forward(state, candidate({{128, 4, 8, 3}, {192, 6, 6, 2}}), 2048, 64);
}

// a GPT-2 vocabulary at the search's usual 256 tokens, widths 256 -> 384 -> 384
void BM_Gpt2VocabThreeBlocks(benchmark::State& state) {
  table_vs_forward(state, candidate({{256, 4, 8, 3}, {384, 6, 6, 2}, {384, 12, 4, 2}}), 50257,
                   256);
}

BENCHMARK(BM_SmallTwoBlocks)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(10);
BENCHMARK(BM_Gpt2VocabThreeBlocks)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();

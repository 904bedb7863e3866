// CPU generation speed: greedy decoding of 64 tokens after a 16-token prompt through the KV
// cache (merino::generate::generate, what `merino generate` runs), for the tiny config and the
// GPT-2 124M shape. The reference measured in the same run is the same greedy decoding by full
// recomputation (a forward over the whole sequence per new token): `speedup_vs_recompute` is
// its time over the cached time; the token sequences must agree (`same_tokens` = 1).
#include <benchmark/benchmark.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"

namespace {

constexpr int kPrompt = 16, kNew = 64;

std::vector<int32_t> recompute_greedy(merino::Model<float>& m, std::vector<int32_t> seq) {
  const merino::ModelConfig& cfg = m.config();
  std::vector<float> row(static_cast<size_t>(cfg.vocab_size));
  std::vector<int32_t> out;
  while (int(out.size()) < kNew) {
    const int n = int(seq.size());
    const std::vector<int32_t> ignore(seq.size(), merino::Model<float>::kIgnoreIndex);
    m.forward(seq.data(), ignore.data(), 1, n);
    m.backend().download(row.data(), m.logits() + size_t(n - 1) * cfg.padded_vocab(), row.size());
    out.push_back(merino::generate::argmax(row.data(), cfg.vocab_size));
    seq.push_back(out.back());
  }
  return out;
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void greedy_decode(benchmark::State& state, const std::string& config) {
  const merino::ModelConfig cfg =
      merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + config + ".yaml");
  merino::CpuBackend<float> be;
  merino::Model<float> model(cfg, be);
  model.init_weights(1);
  std::mt19937 rng(1);
  std::vector<int32_t> prompt(kPrompt);
  for (auto& t : prompt) t = int32_t(rng() % cfg.vocab_size);
  merino::generate::GenerateOptions o;
  o.max_new_tokens = kNew;
  o.sampling.temperature = 0;
  std::vector<int32_t> cached, recomputed;
  const double ref_s = seconds_of([&] { recomputed = recompute_greedy(model, prompt); });
  double seconds = 0;
  for (auto _ : state)
    seconds += seconds_of([&] { cached = merino::generate::generate(model, prompt, o).tokens; });
  const double per_run = seconds / double(state.iterations());
  state.counters["tokens/s"] = kNew / per_run;
  state.counters["recompute_tokens/s"] = kNew / ref_s;
  state.counters["speedup_vs_recompute"] = ref_s / per_run;
  state.counters["same_tokens"] = cached == recomputed ? 1 : 0;
}

void BM_GreedyDecodeTiny(benchmark::State& state) { greedy_decode(state, "tiny"); }
void BM_GreedyDecodeGpt2_124M(benchmark::State& state) { greedy_decode(state, "gpt2-124m"); }

BENCHMARK(BM_GreedyDecodeTiny)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_GreedyDecodeGpt2_124M)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();

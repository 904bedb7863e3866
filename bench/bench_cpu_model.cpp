// CPU training-step throughput: forward + backward tokens/s for the tiny config and the GPT-2
// 124M shape at T=256, with each op's share of the step. The reference measured in the same
// run is a large OpenBLAS sgemm: `sgemm_ratio` = model FLOP/s / raw sgemm FLOP/s, the CPU
// analogue of MFU (1.0 would mean the whole step ran at matmul speed).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model/param_layout.h"

namespace {

double measured_sgemm_flops() {
  static double flops = [] {
    const int n = 1024;
    std::vector<float> a(size_t(n) * n, 0.5f), b(a), c(a.size());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, a.data(), n, b.data(), n,
                0.f, c.data(), n);  // warm-up
    const int reps = 8;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, a.data(), n, b.data(),
                  n, 0.f, c.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return reps * 2.0 * n * n * n / s;
  }();
  return flops;
}

void train_step(benchmark::State& state, const std::string& config, int B, int Tn) {
  const merino::ModelConfig cfg =
      merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + config + ".yaml");
  merino::CpuBackend<float> be;
  merino::Model<float> model(cfg, be);
  model.init_weights(1);
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(size_t(B) * Tn), targets(tokens.size());
  for (auto& t : tokens) t = int32_t(rng() % cfg.vocab_size);
  for (auto& t : targets) t = int32_t(rng() % cfg.vocab_size);
  model.forward_backward(tokens.data(), targets.data(), B, Tn);  // allocate activations
  be.enable_profile(true);
  be.reset_profile();
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grads();
    benchmark::DoNotOptimize(model.forward_backward(tokens.data(), targets.data(), B, Tn));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double tokens_done = double(state.iterations()) * B * Tn;
  state.SetItemsProcessed(int64_t(tokens_done));
  state.counters["tokens/s"] = benchmark::Counter(tokens_done, benchmark::Counter::kIsRate);
  // FLOPs at the benchmarked length, not the config's context
  merino::ModelConfig at_len = cfg;
  at_len.context_length = Tn;
  const double flops_per_token = merino::count_model(at_len).training_flops_per_token;
  const double model_flops = tokens_done * flops_per_token / seconds;
  state.counters["GFLOP/s"] = model_flops * 1e-9;
  state.counters["sgemm_GFLOP/s"] = measured_sgemm_flops() * 1e-9;
  state.counters["sgemm_ratio"] = model_flops / measured_sgemm_flops();
  double total = 0;
  for (const auto& [op, s] : be.profile()) total += s;
  for (const auto& [op, s] : be.profile()) state.counters["%" + op] = 100.0 * s / total;
}

void BM_TrainStepTiny(benchmark::State& state) { train_step(state, "tiny", 8, 128); }
void BM_TrainStepGpt2_124M_T256(benchmark::State& state) { train_step(state, "gpt2-124m", 1, 256); }

}  // namespace

BENCHMARK(BM_TrainStepTiny)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TrainStepGpt2_124M_T256)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_MAIN();

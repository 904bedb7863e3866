// End-to-end training step on one GPU with the CUDA backend, in fp32 mode (CudaBackend<float>)
// and in bf16 mixed precision (CudaBackend<bf16>: bf16 activations and tensor-core GEMMs, fp32
// gradients, master weights and AdamW state): forward + backward + fused AdamW for gpt2-124m
// (B=16, T=1024; bf16 also B=32 and 64), mobilellm-125m and the searched MeRino shape.
// Reported: tokens/s, MFU against the mode's own peak (CudaBackend::peak_flops: the CUDA cores'
// fp32 peak, or the dense bf16 tensor-core peak), and `gemm_ratio`, the model's FLOP/s over the
// FLOP/s of a large GEMM of the mode's type through the same cuBLASLt path measured in the same
// run (1.0 would mean the whole step ran at GEMM speed). PyTorch on identical shapes:
// bench/pytorch_baseline.py. Prints SKIPPED without a device.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/bf16.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/model.h"
#include "model/param_layout.h"

namespace {

// FLOP/s of a 4096^3 GEMM in T through the backend's matmul (cuBLASLt; fp32 without TF32)
template <class T>
double measured_gemm_flops(merino::CudaBackend<T>& be) {
  const int n = 4096;
  T* a = be.alloc(size_t(n) * n);
  T* w = be.alloc(size_t(n) * n);
  T* c = be.alloc(size_t(n) * n);
  T host{};
  be.matmul_forward(c, a, w, nullptr, n, n, n);  // warm-up (plan + heuristic)
  be.download(&host, c, 1);
  const int reps = 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) be.matmul_forward(c, a, w, nullptr, n, n, n);
  be.download(&host, c, 1);  // waits for the stream
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  be.release(a);
  be.release(w);
  be.release(c);
  return reps * 2.0 * double(n) * n * n / s;
}

template <class T>
void train_step(benchmark::State& state, const std::string& config, int B, int Tn) {
  const merino::ModelConfig cfg =
      merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + config + ".yaml");
  merino::CudaBackend<T> be(0);
  // reserved as the trainer does: the model's buffers, then AdamW's two moments
  merino::MemoryPlan plan = merino::Model<T>::memory_plan(cfg, B, Tn);
  const size_t n = merino::build_param_layout(cfg).total;
  for (int i = 0; i < 2; ++i) plan.add("optimizer state", n * sizeof(float));
  be.reserve(plan);
  merino::Model<T> model(cfg, be);
  model.init_weights(1);
  float* m = be.alloc_acc(n);
  float* v = be.alloc_acc(n);
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(size_t(B) * Tn), targets(tokens.size());
  for (auto& t : tokens) t = int32_t(rng() % cfg.vocab_size);
  for (auto& t : targets) t = int32_t(rng() % cfg.vocab_size);
  merino::AdamWStep step;
  step.lr = 1e-4;
  step.round_seed = 1;
  // the bf16 working copy, rewritten by every step; fp32 mode has none
  T* working = merino::kMixedPrecision<T> ? model.params() : nullptr;
  auto one_step = [&] {
    model.zero_grads();
    benchmark::DoNotOptimize(model.forward_backward(tokens.data(), targets.data(), B, Tn));
    ++step.step;
    be.adamw_update(model.master(), working, model.grads(), m, v, n, step, 0);
  };
  one_step();  // allocate activations, build cuBLASLt plans
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    one_step();
    benchmark::DoNotOptimize(be.sum_squares(model.grads(), 1));  // waits for the stream
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double tokens_done = double(state.iterations()) * B * Tn;
  merino::ModelConfig at_len = cfg;
  at_len.context_length = Tn;
  const double flops = tokens_done * merino::count_model(at_len).training_flops_per_token / seconds;
  const merino::MemoryUse mem = be.memory_use();  // before the GEMM probe's own buffers
  const double gemm = measured_gemm_flops(be);
  state.counters["tokens/s"] = tokens_done / seconds;
  state.counters["TFLOP/s"] = flops * 1e-12;
  state.counters["mfu"] = flops / be.peak_flops();
  state.counters["peak_TFLOP/s"] = be.peak_flops() * 1e-12;
  state.counters["gemm_TFLOP/s"] = gemm * 1e-12;
  state.counters["gemm_ratio"] = flops / gemm;
  state.counters["peak_GiB"] = double(mem.peak + mem.workspace) / double(1 << 30);
  state.SetLabel(be.name());
  be.release(m);
  be.release(v);
}

// the benchmark's argument is the batch B
void fp32_step(benchmark::State& s, const std::string& config) {
  train_step<float>(s, config, int(s.range(0)), 1024);
}
void bf16_step(benchmark::State& s, const std::string& config) {
  train_step<merino::bf16>(s, config, int(s.range(0)), 1024);
}

}  // namespace

// gpt2-124m, mobilellm-125m and merino-64m at B=16, T=1024, each in fp32 and in bf16; gpt2-124m
// in bf16 also at B=32 and 64 (the batch range llm.c reports MFU for)
#define MERINO_MODEL_BENCHMARK(step, name, config)            \
  BENCHMARK_CAPTURE(step, name##_T1024, std::string(config)) \
      ->Unit(benchmark::kMillisecond)                         \
      ->Iterations(10)                                        \
      ->UseRealTime()
MERINO_MODEL_BENCHMARK(fp32_step, gpt2_124m, "gpt2-124m")->Arg(16);
MERINO_MODEL_BENCHMARK(bf16_step, gpt2_124m, "gpt2-124m")->Arg(16)->Arg(32)->Arg(64);
MERINO_MODEL_BENCHMARK(fp32_step, mobilellm_125m, "mobilellm-125m")->Arg(16);
MERINO_MODEL_BENCHMARK(bf16_step, mobilellm_125m, "mobilellm-125m")->Arg(16);
MERINO_MODEL_BENCHMARK(fp32_step, merino_64m, "merino-64m")->Arg(16);
MERINO_MODEL_BENCHMARK(bf16_step, merino_64m, "merino-64m")->Arg(16);

int main(int argc, char** argv) {
  if (merino::bench::skipped_without_cuda_device()) return 0;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// End-to-end training step on one GPU with the CUDA backend (fp32 mode): forward + backward +
// fused AdamW for gpt2-124m (B=16, T=1024), mobilellm-125m and the searched MeRino shape.
// Reported: tokens/s, MFU against the CUDA cores' fp32 peak, and `sgemm_ratio`, the model's
// FLOP/s over the FLOP/s of a large fp32 GEMM through the same cuBLASLt path measured in the same
// run (1.0 would mean the whole step ran at GEMM speed). PyTorch on identical shapes:
// bench/pytorch_baseline.py. Prints SKIPPED without a device.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/model.h"
#include "model/param_layout.h"

namespace {

// FLOP/s of a 4096^3 fp32 GEMM through the backend's matmul (cuBLASLt, no TF32)
double measured_gemm_flops(merino::CudaBackend& be) {
  const int n = 4096;
  float* a = be.alloc(size_t(n) * n);
  float* w = be.alloc(size_t(n) * n);
  float* c = be.alloc(size_t(n) * n);
  float host = 0;
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

void train_step(benchmark::State& state, const std::string& config, int B, int Tn) {
  const merino::ModelConfig cfg =
      merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + config + ".yaml");
  merino::CudaBackend be(0);
  merino::Model<float> model(cfg, be);
  model.init_weights(1);
  const size_t n = model.num_params();
  float* m = be.alloc(n);
  float* v = be.alloc(n);
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(size_t(B) * Tn), targets(tokens.size());
  for (auto& t : tokens) t = int32_t(rng() % cfg.vocab_size);
  for (auto& t : targets) t = int32_t(rng() % cfg.vocab_size);
  merino::AdamWStep step;
  step.lr = 1e-4;
  auto one_step = [&] {
    model.zero_grads();
    benchmark::DoNotOptimize(model.forward_backward(tokens.data(), targets.data(), B, Tn));
    ++step.step;
    be.adamw_update(model.params(), model.grads(), m, v, n, step);
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
  const double gemm = measured_gemm_flops(be);
  state.counters["tokens/s"] = tokens_done / seconds;
  state.counters["TFLOP/s"] = flops * 1e-12;
  state.counters["mfu_fp32"] = flops / be.peak_fp32_flops();
  state.counters["sgemm_TFLOP/s"] = gemm * 1e-12;
  state.counters["sgemm_ratio"] = flops / gemm;
  state.counters["peak_GiB"] = double(be.peak_bytes()) / double(1 << 30);
  state.SetLabel(be.name());
  be.release(m);
  be.release(v);
}

void BM_Gpt2_124M_B16_T1024(benchmark::State& s) { train_step(s, "gpt2-124m", 16, 1024); }
void BM_MobileLLM_125M_B16_T1024(benchmark::State& s) { train_step(s, "mobilellm-125m", 16, 1024); }
void BM_MeRino_64M_B16_T1024(benchmark::State& s) { train_step(s, "merino-64m", 16, 1024); }

}  // namespace

BENCHMARK(BM_Gpt2_124M_B16_T1024)->Unit(benchmark::kMillisecond)->Iterations(10)->UseRealTime();
BENCHMARK(BM_MobileLLM_125M_B16_T1024)->Unit(benchmark::kMillisecond)->Iterations(10)->UseRealTime();
BENCHMARK(BM_MeRino_64M_B16_T1024)->Unit(benchmark::kMillisecond)->Iterations(10)->UseRealTime();

int main(int argc, char** argv) {
  if (merino::bench::skipped_without_cuda_device()) return 0;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

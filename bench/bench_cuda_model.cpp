// End-to-end training step on one GPU with the CUDA backend, in bf16 mixed precision
// (CudaBackend<bf16>: bf16 activations and tensor-core GEMMs, fp32 gradients, master weights and
// AdamW state) and in fp32 mode (CudaBackend<float>): forward + backward + fused AdamW for
// gpt2-124m (B=16, T=1024; bf16 also B=32 and 64), mobilellm-125m and the searched MeRino shape.
// The bf16 benchmarks are registered first, so they run first.
// Reported: tokens/s; MFU against NVIDIA's datasheet dense peak of the mode's units
// (kernels/peak_flops.h: 989 TFLOP/s bf16 on an H100 SXM or H200, the convention MFU is published
// in; the clock-based CudaBackend::peak_flops where the GPU is not known) and, beside it,
// mfu_boost_clock against CudaBackend::peak_flops (SMs x the boost clock the driver reports);
// and `gemm_ratio`, the model's FLOP/s over the FLOP/s of a large GEMM of the mode's type
// through the same cuBLASLt path measured in the same run (1.0 would mean the whole step ran at
// GEMM speed). With --op_breakdown=FILE each benchmark also times one extra step op by op
// (bench/timing_backend.h) and appends a JSON line {"benchmark", "step_ms", "ops": [{"op",
// "calls", "ms"}]} to FILE, printing the table on stderr. PyTorch on identical shapes:
// bench/pytorch_baseline.py. Prints SKIPPED without a device.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_training_model.h"
#include "bench/timing_backend.h"
#include "kernels/bf16.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/peak_flops.h"
#include "model/model.h"
#include "model/param_layout.h"

namespace {

// --op_breakdown=FILE (empty: no breakdown)
std::string g_breakdown_path;

// MFU's reference: the datasheet peak of device 0 where known, else the clock-based one
template <class T>
double datasheet_or_clock_peak(const merino::CudaBackend<T>& be) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) {
    const double sheet = merino::datasheet_gpu_peak_flops(p.name, p.major, p.minor,
                                                          p.multiProcessorCount,
                                                          merino::kMixedPrecision<T>);
    if (sheet > 0) return sheet;
  }
  return be.peak_flops();
}

// one recorded step's time per op: a JSON line appended to the breakdown file, a table on stderr
void write_breakdown(const std::string& benchmark, double step_ms,
                     const std::vector<merino::bench::OpTime>& ops) {
  nlohmann::json line = {
      {"benchmark", benchmark}, {"step_ms", step_ms}, {"ops", nlohmann::json::array()}};
  std::fprintf(stderr, "%s: one step %.3f ms, by op\n  %-30s %6s %10s %7s\n", benchmark.c_str(),
               step_ms, "op", "calls", "ms", "% step");
  double sum = 0.0;
  for (const auto& o : ops) {
    line["ops"].push_back({{"op", o.op}, {"calls", o.calls}, {"ms", o.ms}});
    std::fprintf(stderr, "  %-30s %6d %10.3f %6.1f%%\n", o.op.c_str(), o.calls, o.ms,
                 100.0 * o.ms / step_ms);
    sum += o.ms;
  }
  std::fprintf(stderr, "  %-30s %6s %10.3f %6.1f%%\n", "(between ops: launches, host)", "",
               step_ms - sum, 100.0 * (step_ms - sum) / step_ms);
  std::ofstream(g_breakdown_path, std::ios::app) << line.dump() << "\n";
}

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
  merino::CudaBackend<T> be(0);
  // every op goes through the timing decorator, which times only the one recorded step
  merino::bench::TimingBackend<T> timed(be, be.stream_handle());
  merino::bench::CudaTrainingModel<T> trained(config, be, timed, B, Tn);
  const merino::ModelConfig& cfg = trained.config();
  merino::Model<T>& model = trained.model();
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(size_t(B) * Tn), targets(tokens.size());
  trained.random_tokens(rng, tokens);
  trained.random_tokens(rng, targets);
  merino::AdamWStep step;
  step.lr = 1e-4;
  step.round_seed = 1;
  auto one_step = [&] {
    model.zero_grads();
    benchmark::DoNotOptimize(model.forward_backward(tokens.data(), targets.data(), B, Tn));
    ++step.step;
    trained.adamw_update(timed, step);
  };
  one_step();  // allocate activations, build cuBLASLt plans
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    one_step();
    benchmark::DoNotOptimize(be.sum_squares(model.grads(), 1));  // waits for the stream
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (!g_breakdown_path.empty()) {
    timed.start();
    one_step();
    double step_ms = 0.0;
    const auto ops = timed.finish(&step_ms);
    write_breakdown(std::string(merino::kMixedPrecision<T> ? "bf16 " : "fp32 ") + config +
                        " B=" + std::to_string(B) + " T=" + std::to_string(Tn),
                    step_ms, ops);
  }
  const double tokens_done = double(state.iterations()) * B * Tn;
  merino::ModelConfig at_len = cfg;
  at_len.context_length = Tn;
  const double flops = tokens_done * merino::count_model(at_len).training_flops_per_token / seconds;
  const merino::MemoryUse mem = be.memory_use();  // before the GEMM probe's own buffers
  const double gemm = measured_gemm_flops(be);
  state.counters["tokens/s"] = tokens_done / seconds;
  state.counters["TFLOP/s"] = flops * 1e-12;
  const double peak = datasheet_or_clock_peak(be);
  state.counters["mfu"] = flops / peak;
  state.counters["peak_TFLOP/s"] = peak * 1e-12;
  state.counters["mfu_boost_clock"] = flops / be.peak_flops();
  state.counters["boost_clock_peak_TFLOP/s"] = be.peak_flops() * 1e-12;
  state.counters["gemm_TFLOP/s"] = gemm * 1e-12;
  state.counters["gemm_ratio"] = flops / gemm;
  state.counters["peak_GiB"] = double(mem.peak + mem.workspace) / double(1 << 30);
  state.SetLabel(be.name());
}

// the benchmark's argument is the batch B
void fp32_step(benchmark::State& s, const std::string& config) {
  train_step<float>(s, config, int(s.range(0)), 1024);
}
void bf16_step(benchmark::State& s, const std::string& config) {
  train_step<merino::bf16>(s, config, int(s.range(0)), 1024);
}

}  // namespace

// gpt2-124m, mobilellm-125m and merino-64m at B=16, T=1024, each in bf16 and in fp32; gpt2-124m
// in bf16 also at B=32 and 64 (the batch range llm.c reports MFU for). bf16 first: it is what
// trains, and scripts/gpu-check.sh runs the fp32 ones last (--benchmark_filter).
#define MERINO_MODEL_BENCHMARK(step, name, config)            \
  BENCHMARK_CAPTURE(step, name##_T1024, std::string(config)) \
      ->Unit(benchmark::kMillisecond)                         \
      ->Iterations(10)                                        \
      ->UseRealTime()
MERINO_MODEL_BENCHMARK(bf16_step, gpt2_124m, "gpt2-124m")->Arg(16)->Arg(32)->Arg(64);
MERINO_MODEL_BENCHMARK(bf16_step, mobilellm_125m, "mobilellm-125m")->Arg(16);
MERINO_MODEL_BENCHMARK(bf16_step, merino_64m, "merino-64m")->Arg(16);
MERINO_MODEL_BENCHMARK(fp32_step, gpt2_124m, "gpt2-124m")->Arg(16);
MERINO_MODEL_BENCHMARK(fp32_step, mobilellm_125m, "mobilellm-125m")->Arg(16);
MERINO_MODEL_BENCHMARK(fp32_step, merino_64m, "merino-64m")->Arg(16);

int main(int argc, char** argv) {
  // our own flag, taken out before Google Benchmark sees the command line
  const char* flag = "--op_breakdown=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) {
      g_breakdown_path = argv[i] + std::strlen(flag);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return merino::bench::cuda_benchmark_main(argc, argv);
}

// Evaluation throughput: tokens scored per second by `merino eval`'s scorer on the first
// WikiText-2 test articles, for the tiny config (configs/tiny.yaml: GPT-2 vocabulary, context
// 128) with random weights (throughput does not depend on the values).
//   Batch1   one window per forward pass: the reference, measured in this same run
//   Auto     the default batch (auto_batch: 2048 / context windows per pass)
//   Batch/N  N windows per pass
// Each reports tokens/s (scored tokens, lm-eval's protocol: stride = context) and
// speedup_vs_batch1 against the Batch1 rate (best of 2) measured in this process.
//
// Zero-shot scoring (eval/loglikelihood.h), same model, synthetic requests of two shapes:
//   HellaSwag  16 documents, a 32-64-token context, 4 endings of 18-28 tokens
//   BoolQ      48 documents, a 120-token context, 2 one-token answers
// ZeroShot*_Naive runs one forward pass per request (score_naive); ZeroShot*_Engine/N the
// engine with N rows per pass (positions: the positions it ran, padding included);
// speedup_vs_naive and cpu_speedup_vs_naive are its wall and CPU time against the naive
// scorer's best of 2 in this run.
//
// Data: WikiText-2 test (`merino fetch wikitext2`) and the committed GPT-2 tokenizer, found
// through the data lookup (data/data_paths.h).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "data/tokenizer/named_tokenizer.h"
#include "eval/evaluate.h"
#include "eval/loglikelihood.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"

namespace {

using namespace merino;

constexpr size_t kDocuments = 3;  // 40 kB of text, about 9k GPT-2 tokens

struct Setup {
  CpuBackend<float> backend;
  std::unique_ptr<Model<float>> model;
  std::unique_ptr<Tokenizer> tokenizer;
  eval::EvalTask task;

  Setup() {
    model = std::make_unique<Model<float>>(
        load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/tiny.yaml"), backend);
    model->init_weights(1);
    tokenizer = std::make_unique<Tokenizer>(load_named_tokenizer("gpt2").tokenizer);
    task = eval::load_task("wikitext2");
    task.documents.resize(kDocuments);
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

// tokens/s of one full pass over the documents
double rate(int batch) {
  const eval::EvalResult r =
      eval::evaluate(*setup().model, *setup().tokenizer, setup().task, {0, batch, nullptr});
  return double(r.totals.tokens) / r.seconds;
}

double batch1_rate() {
  static const double best = std::max(rate(1), rate(1));
  return best;
}

void run(benchmark::State& state, int batch) {
  Setup& s = setup();
  double tokens = 0, seconds = 0;
  for (auto _ : state) {
    const eval::EvalResult r = eval::evaluate(*s.model, *s.tokenizer, s.task, {0, batch, nullptr});
    tokens += double(r.totals.tokens);
    seconds += r.seconds;
    state.SetIterationTime(r.seconds);
  }
  const int used = batch ? batch : eval::auto_batch(s.model->config().context_length);
  state.counters["batch"] = used;
  state.counters["tokens/s"] = tokens / seconds;
  state.counters["speedup_vs_batch1"] = tokens / seconds / batch1_rate();
}

void BM_EvalTiny_Batch1(benchmark::State& state) { run(state, 1); }
void BM_EvalTiny_Auto(benchmark::State& state) { run(state, 0); }
void BM_EvalTiny_Batch(benchmark::State& state) { run(state, int(state.range(0))); }

struct Requests {
  std::vector<eval::TokenRequest> requests;
  std::vector<size_t> group;
};

// docs documents of `choices` continuations of min_len..max_len tokens after a context of
// min_context..max_context tokens
Requests shaped(size_t docs, size_t min_context, size_t max_context, size_t choices, size_t min_len,
                size_t max_len) {
  std::mt19937 rng(5);
  auto tok = [&] { return int32_t(rng() % 50000); };
  Requests r;
  for (size_t d = 0; d < docs; ++d) {
    std::vector<int32_t> ctx(min_context + rng() % (max_context - min_context + 1));
    for (auto& t : ctx) t = tok();
    for (size_t c = 0; c < choices; ++c) {
      std::vector<int32_t> cont(min_len + rng() % (max_len - min_len + 1));
      for (auto& t : cont) t = tok();
      r.requests.push_back({ctx, cont});
      r.group.push_back(d);
    }
  }
  return r;
}

const Requests& hellaswag_shaped() {
  static const Requests r = shaped(16, 32, 64, 4, 18, 28);
  return r;
}
const Requests& boolq_shaped() {
  static const Requests r = shaped(48, 120, 120, 2, 1, 1);
  return r;
}

// Wall and process CPU seconds: on a shared machine the CPU time of a one-thread run
// (OMP_NUM_THREADS=1) is the steadier of the two.
struct Seconds {
  double wall = 0, cpu = 0;
};

Seconds seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  f();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          double(std::clock() - cpu_start) / CLOCKS_PER_SEC};
}

// the best of two naive runs, per kind of time
Seconds naive_seconds(const Requests& r) {
  const Seconds a = seconds_of([&] { eval::score_naive(*setup().model, r.requests); });
  const Seconds b = seconds_of([&] { eval::score_naive(*setup().model, r.requests); });
  return {std::min(a.wall, b.wall), std::min(a.cpu, b.cpu)};
}

void zero_shot_naive(benchmark::State& state, const Requests& r) {
  for (auto _ : state)
    state.SetIterationTime(seconds_of([&] { eval::score_naive(*setup().model, r.requests); }).wall);
  state.counters["requests/s"] =
      benchmark::Counter(double(r.requests.size()), benchmark::Counter::kIsIterationInvariantRate);
  const size_t window = size_t(setup().model->config().context_length) + 1;
  double positions = 0;  // one whole window per request
  for (const eval::TokenRequest& q : r.requests)
    positions += double(std::min(q.context.size() + q.continuation.size(), window) - 1);
  state.counters["positions"] = positions;
}

void zero_shot_engine(benchmark::State& state, const Requests& r, const Seconds& naive) {
  const int batch = int(state.range(0));
  Seconds total;
  eval::LoglikelihoodStats stats;
  for (auto _ : state) {
    const Seconds s = seconds_of([&] {
      eval::score_requests(*setup().model, r.requests, r.group, {batch, nullptr}, &stats);
    });
    total.wall += s.wall;
    total.cpu += s.cpu;
    state.SetIterationTime(s.wall);
  }
  const double n = double(state.iterations());
  state.counters["requests/s"] = double(r.requests.size()) * n / total.wall;
  state.counters["rows"] = double(stats.rows);
  state.counters["positions"] = double(stats.positions);
  state.counters["speedup_vs_naive"] = naive.wall * n / total.wall;
  state.counters["cpu_speedup_vs_naive"] = naive.cpu * n / total.cpu;
}

const Seconds& hellaswag_naive() {
  static const Seconds best = naive_seconds(hellaswag_shaped());
  return best;
}
const Seconds& boolq_naive() {
  static const Seconds best = naive_seconds(boolq_shaped());
  return best;
}

void BM_ZeroShotHellaSwag_Naive(benchmark::State& state) {
  zero_shot_naive(state, hellaswag_shaped());
}
void BM_ZeroShotHellaSwag_Engine(benchmark::State& state) {
  zero_shot_engine(state, hellaswag_shaped(), hellaswag_naive());
}
void BM_ZeroShotBoolQ_Naive(benchmark::State& state) { zero_shot_naive(state, boolq_shaped()); }
void BM_ZeroShotBoolQ_Engine(benchmark::State& state) {
  zero_shot_engine(state, boolq_shaped(), boolq_naive());
}

}  // namespace

BENCHMARK(BM_ZeroShotHellaSwag_Naive)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(BM_ZeroShotHellaSwag_Engine)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(BM_ZeroShotBoolQ_Naive)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_ZeroShotBoolQ_Engine)
    ->Arg(1)
    ->Arg(16)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(BM_EvalTiny_Batch1)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_EvalTiny_Auto)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_EvalTiny_Batch)
    ->Arg(4)
    ->Arg(64)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_MAIN();

// Evaluation throughput: tokens scored per second by `merino eval`'s scorer on the first
// WikiText-2 test articles, for the tiny config (configs/tiny.yaml: GPT-2 vocabulary, context
// 128) with random weights (throughput does not depend on the values).
//   Batch1   one window per forward pass: the reference, measured in this same run
//   Auto     the default batch (auto_batch: 2048 / context windows per pass)
//   Batch/N  N windows per pass
// Each reports tokens/s (scored tokens, lm-eval's protocol: stride = context) and
// speedup_vs_batch1 against the Batch1 rate (best of 2) measured in this process.
//
// Data: WikiText-2 test (`merino fetch wikitext2`) and the committed GPT-2 tokenizer, found
// through the data lookup (data/data_paths.h).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>

#include "data/named_tokenizer.h"
#include "eval/evaluate.h"
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
    tokenizer = std::make_unique<Tokenizer>(
        load_named_tokenizer("gpt2").tokenizer);
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
  const eval::EvalResult r = eval::evaluate(*setup().model, *setup().tokenizer, setup().task, {0, batch, nullptr});
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

}  // namespace

BENCHMARK(BM_EvalTiny_Batch1)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_EvalTiny_Auto)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_EvalTiny_Batch)->Arg(4)->Arg(64)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_MAIN();

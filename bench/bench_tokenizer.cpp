// Tokenizer throughput on WikiText-2 test (raw, 1.29 MB), GPT-2 vocabulary:
//   Naive          a textbook BPE (bench/textbook_bpe.h: encoder.py's loop, rescan every pair,
//                  merge the lowest-ranked everywhere, repeat; no cache), after the same regex split
//   Encode         merino Tokenizer::encode on the whole file, one thread
//   EncodeBatch/N  merino Tokenizer::encode_batch on the file's 4,358 lines, N threads
// Each benchmark reports MB_per_s (10^6 bytes per wall-clock second) and speedup_vs_naive, its
// rate over the naive rate measured (best of 3) in this same process, so Naive itself shows <= 1. Before timing, the naive and merino
// ids for the whole file are compared; a mismatch aborts the benchmark.
//
// Data: the committed GPT-2 tokenizer and WikiText-2 test (`merino fetch wikitext2`), both found
// through the data lookup (data/data_paths.h).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/textbook_bpe.h"
#include "data/data_paths.h"
#include "data/tokenizer/pretokenizer.h"
#include "data/tokenizer/tokenizer.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Setup {
  std::unique_ptr<merino::Tokenizer> tok;
  std::unique_ptr<merino::reference::TextbookBpe> naive;
  merino::tok::Pretokenizer pre;
  std::string text;
  std::vector<std::string_view> lines;
  std::string error;
  double naive_bytes_per_s = 0;

  std::vector<int32_t> naive_encode(const std::string& s) const { return naive->encode(pre, s); }
};

Setup& setup() {
  static Setup* const s = [] {  // built once, on first use; lives until exit
    auto* x = new Setup;
    try {
      const std::string g =
          std::filesystem::path(merino::require_data_file("tokenizers/gpt2/encoder.json")).parent_path().string() + "/";
      x->tok = std::make_unique<merino::Tokenizer>(merino::Tokenizer::load_gpt2(g + "encoder.json", g + "vocab.bpe"));
      x->naive = std::make_unique<merino::reference::TextbookBpe>(g + "encoder.json", g + "vocab.bpe");
      x->text = slurp(merino::require_data_file("wikitext-2-raw/wiki.test.raw"));
      for (size_t pos = 0; pos < x->text.size();) {
        const size_t end = std::min(x->text.find('\n', pos), x->text.size() - 1) + 1;
        x->lines.emplace_back(x->text.data() + pos, end - pos);
        pos = end;
      }
      // Same ids from both. The naive rate is the best of 3 runs, so that one slow run on a busy
      // machine does not inflate every speedup.
      std::vector<int32_t> naive_ids;
      double best = 1e30;
      for (int run = 0; run < 3; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        naive_ids = x->naive_encode(x->text);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      x->naive_bytes_per_s = x->text.size() / best;
      if (naive_ids != x->tok->encode(x->text)) x->error = "merino and the naive reference disagree on wiki.test.raw";
    } catch (const std::exception& e) {
      x->error = e.what();
    }
    return x;
  }();
  return *s;
}

// Runs body once per iteration and reports throughput from wall-clock time measured here, so
// that the ratio to the naive rate is a plain number.
template <class Body>
void timed(benchmark::State& state, const Setup& s, Body&& body) {
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double bytes = static_cast<double>(s.text.size()) * state.iterations();
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["MB_per_s"] = bytes / seconds / 1e6;
  state.counters["speedup_vs_naive"] = bytes / seconds / s.naive_bytes_per_s;
}

void BM_Naive(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  timed(state, s, [&] { benchmark::DoNotOptimize(s.naive_encode(s.text)); });
}

void BM_Encode(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  size_t tokens = 0;
  timed(state, s, [&] {
    const std::vector<int32_t> ids = s.tok->encode(s.text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  });
  state.counters["tokens"] = static_cast<double>(tokens);
}

// The LLaMA-2 tokenizer.json (byte-fallback BPE: one BPE word per document, character base
// symbols) on the same lines, on one thread: its MB_per_s beside BM_EncodeBatch/1's is the
// comparison with GPT-2's path.
void BM_EncodeLlama2(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  static const std::unique_ptr<merino::Tokenizer> llama2 = [] {
    try {
      return std::make_unique<merino::Tokenizer>(
          merino::Tokenizer::load_hf_json(merino::require_data_file("tokenizers/llama2/tokenizer.json")));
    } catch (const std::exception&) {
      return std::unique_ptr<merino::Tokenizer>();
    }
  }();
  if (!llama2) return state.SkipWithError("llama2/tokenizer.json not loadable: run `merino fetch llama2`");
  size_t tokens = 0;
  timed(state, s, [&] {
    const auto ids = llama2->encode_batch(s.lines, 1);
    tokens = 0;
    for (const auto& line : ids) tokens += line.size();
    benchmark::DoNotOptimize(ids.data());
  });
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_EncodeBatch(benchmark::State& state) {
  Setup& s = setup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  const int threads = static_cast<int>(state.range(0));
  timed(state, s, [&] { benchmark::DoNotOptimize(s.tok->encode_batch(s.lines, threads)); });
}

void thread_counts(benchmark::internal::Benchmark* b) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t = 1; t < hw; t *= 2) b->Arg(t);
  b->Arg(hw);
}

// Wall-clock time throughout: the batch runs its own threads, so CPU time of the calling thread
// would overstate its speed.
BENCHMARK(BM_Naive)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EncodeLlama2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EncodeBatch)->Apply(thread_counts)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

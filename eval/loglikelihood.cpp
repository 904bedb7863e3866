#include "eval/loglikelihood.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "base/errors.h"
#include "eval/vocab_log_softmax.h"
#include "model/kv_cache.h"

namespace merino::eval {
namespace {

// The model input of a request: the last L+1 tokens of context + continuation, minus the last.
struct Window {
  std::vector<int32_t> input;
  size_t first_scored = 0;  // position predicting continuation[0]
};

Window make_window(const TokenRequest& r, int L) {
  std::vector<int32_t> full = r.context;
  full.insert(full.end(), r.continuation.begin(), r.continuation.end());
  const size_t keep = std::min(full.size(), size_t(L) + 1);
  Window w;
  w.input.assign(full.end() - ptrdiff_t(keep), full.end() - 1);
  w.first_scored = w.input.size() - r.continuation.size();
  return w;
}

// lm-eval asserts that a continuation fits one window (len <= L), which holds for every task
// at L >= 1024 but not for short-context models (PIQA has 138-token solutions). Such a
// continuation is scored in pieces of at most L tokens, each after everything before it and
// left-truncated as usual, the first piece taking the remainder: every token is scored once,
// with as much context as fits, and ll and greedy combine over the pieces in order.
std::vector<TokenRequest> pieces_of(const TokenRequest& r, int L) {
  if (r.continuation.empty()) throw DataError("a request has an empty continuation");
  const size_t n = r.continuation.size(), l = size_t(L);
  std::vector<TokenRequest> out;
  for (size_t begin = 0, len = n - l * ((n - 1) / l); begin < n; begin += len, len = l) {
    TokenRequest piece{r.context, {}};
    piece.context.insert(piece.context.end(), r.continuation.begin(),
                         r.continuation.begin() + ptrdiff_t(begin));
    piece.continuation.assign(r.continuation.begin() + ptrdiff_t(begin),
                              r.continuation.begin() + ptrdiff_t(begin + len));
    out.push_back(std::move(piece));
  }
  return out;
}

void combine(ScoredRequest& total, const ScoredRequest& piece, bool first) {
  total.loglikelihood = first ? piece.loglikelihood : total.loglikelihood + piece.loglikelihood;
  total.greedy = (first || total.greedy) && piece.greedy;
}

// log_softmax(logits)[target] and whether target is the (first) argmax.
void score_position(const float* logits, int V, int32_t target, ScoredRequest& out) {
  const RowLogSoftmax row = row_log_softmax(logits, V);
  out.loglikelihood += double(logits[target]) - row.max - row.log_sum_exp;
  out.greedy = out.greedy && row.argmax == target;
}

// Adds continuation tokens j0 .. j1 - 1 to s, token j predicted by logit row first_row + j - j0
// of the last forward pass. The rows are consecutive, so they come down up to 32 at a time (a
// device synchronisation per 32 tokens, not per token, in at most 32 rows of host memory).
// Tokens are added in order, so a request scored over two passes sums exactly as over one.
void score_tokens(Model<float>& model, size_t first_row, const std::vector<int32_t>& cont,
                  size_t j0, size_t j1, ScoredRequest& s, std::vector<float>& logits) {
  constexpr size_t kRowsPerTransfer = 32;
  const int V = model.config().vocab_size;
  const size_t ld = size_t(model.config().padded_vocab());
  for (size_t a = j0; a < j1; a += kRowsPerTransfer) {
    const size_t b = std::min(j1, a + kRowsPerTransfer);
    const size_t n = (b - a - 1) * ld + size_t(V);  // the last row without its padding
    if (logits.size() < n) logits.resize(n);
    model.backend().download(logits.data(), model.logits() + (first_row + a - j0) * ld, n);
    for (size_t j = a; j < b; ++j) score_position(logits.data() + (j - a) * ld, V, cont[j], s);
  }
}

struct Row {
  std::vector<int32_t> input;
  std::vector<size_t> requests;  // served by this row
};

bool starts_with(const std::vector<int32_t>& a, const std::vector<int32_t>& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

// Each group's rows: a request whose input is a prefix of an existing row's input joins that
// row. Groups in order of their first request; rows longest first (ties: first request first).
std::vector<std::vector<Row>> plan_groups(const std::vector<Window>& windows,
                                          const std::vector<size_t>& group) {
  std::vector<size_t> order(windows.size());
  std::iota(order.begin(), order.end(), size_t(0));
  // each group's requests together, longest input first, so a row exists before its prefixes
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (group[a] != group[b]) return group[a] < group[b];
    return windows[a].input.size() > windows[b].input.size();
  });
  std::vector<std::vector<Row>> groups;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    if (k == 0 || group[i] != group[order[k - 1]]) groups.emplace_back();
    std::vector<Row>& rows = groups.back();
    auto host = std::find_if(rows.begin(), rows.end(),
                             [&](const Row& r) { return starts_with(r.input, windows[i].input); });
    if (host == rows.end()) host = rows.insert(rows.end(), Row{windows[i].input, {}});
    host->requests.push_back(i);
  }
  return groups;
}

// A group of several rows: the `shared` tokens all its rows start with run once (its context,
// and any first continuation tokens every choice has), each row continues from them.
struct ForkedGroup {
  std::vector<Row> rows;
  size_t shared = 0;
};

size_t common_prefix(const std::vector<Row>& rows) {
  const std::vector<int32_t>& first = rows[0].input;
  size_t n = first.size();
  for (const Row& r : rows)
    for (size_t p = 0; p < n; ++p)
      if (p == r.input.size() || r.input[p] != first[p]) {
        n = p;
        break;
      }
  return n;
}

// Positions one pass of groups [first, last) runs, padding included (sorted: the last shares
// the fewest tokens).
size_t pass_positions(const std::vector<ForkedGroup>& groups, size_t first, size_t last) {
  const size_t n = groups[last - 1].shared;
  size_t rows = 0, Tc = 0;
  for (size_t g = first; g < last; ++g)
    for (const Row& r : groups[g].rows) {
      ++rows;
      Tc = std::max(Tc, r.input.size() - n);
    }
  return (last - first) * n + rows * Tc;
}

// Runs the passes and scores every piece from their logits.
class Engine {
 public:
  Engine(Model<float>& model, const std::vector<TokenRequest>& pieces,
         const std::vector<Window>& windows, const LoglikelihoodOptions& options)
      : model_(model),
        pieces_(pieces),
        windows_(windows),
        options_(options),
        scored_(pieces.size(), ScoredRequest{0.0, true}),
        logits_(size_t(model.config().vocab_size)) {}

  // Rows of single-row groups: forward passes of `batch` rows, longest first, right-padded. They
  // run through an empty KV cache only so that the head runs from the first scored position on
  // (forward_cached's first_logit; its logits equal forward()'s on the CPU).
  void run_plain(std::vector<Row> rows) {
    if (rows.empty()) return;
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.input.size() > b.input.size(); });
    const size_t batch = size_t(options_.batch);
    KVCache<float> cache(model_.backend(), model_.config(), int(std::min(batch, rows.size())),
                         int(rows[0].input.size()));
    for (size_t first = 0; first < rows.size(); first += batch) {
      const size_t last = std::min(rows.size(), first + batch);
      const size_t Tn = rows[first].input.size();
      std::vector<int32_t> tokens((last - first) * Tn, 0);
      size_t from = Tn - 1;
      for (size_t r = first; r < last; ++r) {
        std::copy(rows[r].input.begin(), rows[r].input.end(),
                  tokens.begin() + ptrdiff_t((r - first) * Tn));
        from = std::min(from, first_read(rows[r], 0));
      }
      cache.length = 0;
      model_.forward_cached(cache, tokens.data(), int(last - first), int(Tn), int(from));
      count_pass(last - first, Tn);
      for (size_t r = first; r < last; ++r)
        for (size_t i : rows[r].requests) {
          score_from(i, (r - first) * (Tn - from), from, size_t(-1));
          finish(i);
        }
      report();
    }
  }

  // Groups of several rows, most shared tokens first. A pass takes consecutive groups while their
  // rows fit `batch` (a group with more rows takes passes of its own): their first n tokens (n
  // the fewest shared in the pass, so every row starts with them) run once per group as one
  // batched prefix; each group's prefix is forked into one cache row per row of the group, and
  // the rows' remaining tokens run together. A group whose shared tokens are far fewer would
  // make the others rerun theirs: it joins only while the pass runs at most 1/8 more positions
  // than its groups would alone. Batching documents makes a position cheaper (bench_eval: batch
  // 16 runs 17% more positions than batch 1, padding, in a quarter less time), not free.
  void run_forked(std::vector<ForkedGroup> groups) {
    if (groups.empty()) return;
    std::stable_sort(groups.begin(), groups.end(), [](const ForkedGroup& a, const ForkedGroup& b) {
      return a.shared > b.shared;
    });
    const size_t batch = size_t(options_.batch);
    std::vector<std::pair<size_t, size_t>> passes;  // [first, last) of groups
    // the cache holds the widest pass's rows (<= batch) and the longest row (<= L): at most the
    // k/v activations that one forward pass of `batch` full windows already holds
    size_t rows = 0, capacity = 0;
    for (size_t first = 0; first < groups.size();) {
      size_t last = first + 1, width = groups[first].rows.size(),
             alone = pass_positions(groups, first, last);
      while (last < groups.size() && width + groups[last].rows.size() <= batch) {
        const size_t own = pass_positions(groups, last, last + 1);
        if (8 * pass_positions(groups, first, last + 1) > 9 * (alone + own)) break;
        alone += own;
        width += groups[last++].rows.size();
      }
      passes.emplace_back(first, last);
      rows = std::max(rows, std::min(batch, width));
      for (size_t g = first; g < last; ++g)
        for (const Row& r : groups[g].rows) capacity = std::max(capacity, r.input.size());
      first = last;
    }
    KVCache<float> cache(model_.backend(), model_.config(), int(rows), int(capacity));
    for (const auto& [first, last] : passes) run_forked_pass(cache, groups, first, last);
  }

  std::vector<ScoredRequest> scored() && { return std::move(scored_); }
  const LoglikelihoodStats& stats() const { return stats_; }

 private:
  // groups [first, last) share their first n = groups[last - 1].shared tokens (sorted); when
  // they are one group of more rows than `batch`, its prefix row 0 is forked again for each
  // chunk of rows (continuations write past position n, so the prefix stays intact).
  void run_forked_pass(KVCache<float>& cache, const std::vector<ForkedGroup>& groups, size_t first,
                       size_t last) {
    const size_t n = groups[last - 1].shared, G = last - first;
    cache.length = 0;
    if (n > 0) {
      std::vector<int32_t> tokens;
      for (size_t g = first; g < last; ++g)
        tokens.insert(tokens.end(), groups[g].rows[0].input.begin(),
                      groups[g].rows[0].input.begin() + ptrdiff_t(n));
      // the head runs from the first position any row of the pass scores (at least the last)
      size_t from = n - 1;
      for (size_t g = first; g < last; ++g)
        for (const Row& r : groups[g].rows) from = std::min(from, first_read(r, 0));
      model_.forward_cached(cache, tokens.data(), int(G), int(n), int(from));
      count_pass(G, n);
      for (size_t g = first; g < last; ++g)
        for (const Row& r : groups[g].rows)
          for (size_t i : r.requests) score_from(i, (g - first) * (n - from), from, n);
    }
    // (row, its group's prefix row) in cache order, fed `batch` at a time
    std::vector<std::pair<const Row*, int>> queue;
    for (size_t g = first; g < last; ++g)
      for (const Row& r : groups[g].rows) queue.emplace_back(&r, int(g - first));
    const size_t batch = size_t(options_.batch);
    for (size_t begin = 0; begin < queue.size(); begin += batch) {
      const size_t end = std::min(queue.size(), begin + batch);
      fork(cache, queue, begin, end, int(n));
      size_t Tc = 0;
      for (size_t q = begin; q < end; ++q) Tc = std::max(Tc, queue[q].first->input.size() - n);
      std::vector<int32_t> tokens((end - begin) * Tc, 0);
      size_t from = n + Tc - 1;  // as in the prefix pass
      for (size_t q = begin; q < end; ++q) {
        const std::vector<int32_t>& in = queue[q].first->input;
        std::copy(in.begin() + ptrdiff_t(n), in.end(),
                  tokens.begin() + ptrdiff_t((q - begin) * Tc));
        from = std::min(from, first_read(*queue[q].first, n));
      }
      model_.forward_cached(cache, tokens.data(), int(end - begin), int(Tc), int(from - n));
      count_pass(end - begin, Tc);
      for (size_t q = begin; q < end; ++q)
        for (size_t i : queue[q].first->requests) {
          score_from(i, (q - begin) * (n + Tc - from), from, size_t(-1));
          finish(i);
        }
      report();
    }
  }

  // Rows begin .. end - 1 of the queue go to cache rows 0 ..: each gets its prefix row's first n
  // positions. Groups are forked last first: a group's rows start at or after its prefix row, and
  // the prefix rows not yet forked lie before them.
  static void fork(KVCache<float>& cache, const std::vector<std::pair<const Row*, int>>& queue,
                   size_t begin, size_t end, int n) {
    if (n == 0) {
      cache.length = 0;
      return;
    }
    for (size_t q = end; q > begin;) {
      const size_t stop = q;
      const int src = queue[q - 1].second;
      while (q > begin && queue[q - 1].second == src) --q;
      cache.copy_prefix_from(cache, src, n, int(q - begin), int(stop - q));
    }
  }

  // The first input position at or after `from` that a request of the row scores (at least
  // from: a row whose scored positions all lie before it reads none).
  size_t first_read(const Row& r, size_t from) const {
    size_t first = size_t(-1);
    for (size_t i : r.requests) first = std::min(first, windows_[i].first_scored);
    return std::max(first, from);
  }

  // Scores piece i's tokens whose input positions lie in [from, to) (continuation token j sits
  // at position first_scored + j), from the last forward's logit rows: position p at row_of_from
  // + p - from.
  void score_from(size_t i, size_t row_of_from, size_t from, size_t to) {
    const size_t fs = windows_[i].first_scored;
    const size_t lo = std::max(fs, from), hi = std::min(fs + pieces_[i].continuation.size(), to);
    if (lo < hi)
      score_tokens(model_, row_of_from + lo - from, pieces_[i].continuation, lo - fs, hi - fs,
                   scored_[i], logits_);
  }
  void finish(size_t i) {
    ++done_;
    tokens_ += pieces_[i].continuation.size();
  }

  void count_pass(size_t B, size_t Tn) {
    stats_.positions += uint64_t(B) * uint64_t(Tn);
    ++stats_.forwards;
  }
  void report() {
    if (options_.progress) options_.progress(done_, pieces_.size(), tokens_);
  }

  Model<float>& model_;
  const std::vector<TokenRequest>& pieces_;
  const std::vector<Window>& windows_;
  const LoglikelihoodOptions& options_;
  std::vector<ScoredRequest> scored_;
  std::vector<float> logits_;
  LoglikelihoodStats stats_;
  size_t done_ = 0;
  uint64_t tokens_ = 0;
};

}  // namespace

std::vector<ScoredRequest> score_requests(Model<float>& model,
                                          const std::vector<TokenRequest>& requests,
                                          const std::vector<size_t>& group,
                                          const LoglikelihoodOptions& options,
                                          LoglikelihoodStats* stats) {
  if (options.batch < 1) throw std::invalid_argument("score_requests: batch must be >= 1");
  const int L = model.config().context_length;
  std::vector<TokenRequest> pieces;
  std::vector<size_t> owner, piece_group;  // the request and group of each piece
  for (size_t i = 0; i < requests.size(); ++i)
    for (TokenRequest& p : pieces_of(requests[i], L)) {
      pieces.push_back(std::move(p));
      owner.push_back(i);
      piece_group.push_back(group.empty() ? i : group[i]);
    }
  std::vector<Window> windows;
  windows.reserve(pieces.size());
  for (const TokenRequest& p : pieces) windows.push_back(make_window(p, L));

  std::vector<Row> plain;
  std::vector<ForkedGroup> forked;
  uint64_t rows = 0;
  for (std::vector<Row>& g : plan_groups(windows, piece_group)) {
    rows += g.size();
    if (g.size() == 1) {
      plain.push_back(std::move(g[0]));
    } else {
      const size_t shared = common_prefix(g);
      forked.push_back({std::move(g), shared});
    }
  }
  Engine engine(model, pieces, windows, options);
  engine.run_forked(std::move(forked));
  engine.run_plain(std::move(plain));
  if (stats) {
    *stats = engine.stats();
    stats->rows = rows;
  }
  const std::vector<ScoredRequest> scored = std::move(engine).scored();
  std::vector<ScoredRequest> out(requests.size());
  for (size_t i = 0; i < pieces.size(); ++i)
    combine(out[owner[i]], scored[i], i == 0 || owner[i - 1] != owner[i]);
  return out;
}

std::vector<ScoredRequest> score_naive(Model<float>& model,
                                       const std::vector<TokenRequest>& requests) {
  const int L = model.config().context_length;
  std::vector<ScoredRequest> out(requests.size());
  std::vector<float> logits(size_t(model.config().vocab_size));
  for (size_t i = 0; i < requests.size(); ++i) {
    bool first = true;
    for (const TokenRequest& p : pieces_of(requests[i], L)) {
      const Window w = make_window(p, L);
      const std::vector<int32_t> targets(w.input.size(), Model<float>::kIgnoreIndex);
      model.forward(w.input.data(), targets.data(), 1, int(w.input.size()));
      ScoredRequest s{0.0, true};
      score_tokens(model, w.first_scored, p.continuation, 0, p.continuation.size(), s, logits);
      combine(out[i], s, first);
      first = false;
    }
  }
  return out;
}

}  // namespace merino::eval

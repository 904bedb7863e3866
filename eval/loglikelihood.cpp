#include "eval/loglikelihood.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "base/errors.h"

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
    piece.context.insert(piece.context.end(), r.continuation.begin(), r.continuation.begin() + ptrdiff_t(begin));
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
  int best = 0;
  for (int v = 1; v < V; ++v)
    if (logits[v] > logits[best]) best = v;
  const double max = logits[best];
  double sum = 0;
  for (int v = 0; v < V; ++v) sum += std::exp(double(logits[v]) - max);
  out.loglikelihood += double(logits[target]) - max - std::log(sum);
  out.greedy = out.greedy && best == target;
}

struct Row {
  std::vector<int32_t> input;
  std::vector<size_t> requests;  // served by this row
};

// The continuation scored at the positions first_pos.. of the last forward's logits.
ScoredRequest score_continuation(Model<float>& model, size_t first_pos, const std::vector<int32_t>& cont,
                                 std::vector<float>& logits) {
  const int V = model.config().vocab_size;
  const size_t row = size_t(model.config().padded_vocab());  // the logits' leading dimension
  ScoredRequest s{0.0, true};
  for (size_t j = 0; j < cont.size(); ++j) {
    model.backend().download(logits.data(), model.logits() + (first_pos + j) * row, size_t(V));
    score_position(logits.data(), V, cont[j], s);
  }
  return s;
}

bool starts_with(const std::vector<int32_t>& a, const std::vector<int32_t>& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

// Rows for all requests: within a group, a request whose input is a prefix of an existing
// row's input joins that row. Returned longest first (ties: first request first).
std::vector<Row> plan_rows(const std::vector<Window>& windows, const std::vector<size_t>& group) {
  std::vector<size_t> order(windows.size());
  std::iota(order.begin(), order.end(), size_t(0));
  auto group_of = [&](size_t i) { return group.empty() ? i : group[i]; };
  // each group's requests together, longest input first, so a row exists before its prefixes
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (group_of(a) != group_of(b)) return group_of(a) < group_of(b);
    return windows[a].input.size() > windows[b].input.size();
  });
  std::vector<Row> rows;
  size_t group_first_row = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    if (k == 0 || group_of(i) != group_of(order[k - 1])) group_first_row = rows.size();
    Row* host = nullptr;
    for (size_t r = group_first_row; r < rows.size() && !host; ++r)
      if (starts_with(rows[r].input, windows[i].input)) host = &rows[r];
    if (!host) {
      rows.push_back({windows[i].input, {}});
      host = &rows.back();
    }
    host->requests.push_back(i);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.input.size() > b.input.size();
  });
  return rows;
}

void forward_rows(Model<float>& model, const std::vector<Row>& rows, size_t first, size_t last, int& Tn) {
  Tn = 0;
  for (size_t r = first; r < last; ++r) Tn = std::max(Tn, int(rows[r].input.size()));
  const int B = int(last - first);
  std::vector<int32_t> tokens(size_t(B) * size_t(Tn), 0);
  const std::vector<int32_t> targets(tokens.size(), Model<float>::kIgnoreIndex);
  for (size_t r = first; r < last; ++r)
    std::copy(rows[r].input.begin(), rows[r].input.end(), tokens.begin() + ptrdiff_t((r - first) * size_t(Tn)));
  model.forward(tokens.data(), targets.data(), B, Tn);
}

}  // namespace

std::vector<ScoredRequest> score_requests(Model<float>& model, const std::vector<TokenRequest>& requests,
                                          const std::vector<size_t>& group, const LoglikelihoodOptions& options,
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
  const std::vector<Row> rows = plan_rows(windows, piece_group);

  std::vector<ScoredRequest> scored(pieces.size());
  std::vector<float> logits(size_t(model.config().vocab_size));
  LoglikelihoodStats st;
  uint64_t tokens = 0;
  size_t done = 0;
  for (size_t first = 0; first < rows.size(); first += size_t(options.batch)) {
    const size_t last = std::min(rows.size(), first + size_t(options.batch));
    int Tn = 0;
    forward_rows(model, rows, first, last, Tn);
    for (size_t r = first; r < last; ++r)
      for (size_t i : rows[r].requests) {
        scored[i] = score_continuation(model, (r - first) * size_t(Tn) + windows[i].first_scored,
                                       pieces[i].continuation, logits);
        tokens += pieces[i].continuation.size();
        ++done;
      }
    st.positions += uint64_t(last - first) * uint64_t(Tn);
    ++st.forwards;
    if (options.progress) options.progress(done, pieces.size(), tokens);
  }
  st.rows = rows.size();
  if (stats) *stats = st;
  std::vector<ScoredRequest> out(requests.size());
  for (size_t i = 0; i < pieces.size(); ++i) combine(out[owner[i]], scored[i], i == 0 || owner[i - 1] != owner[i]);
  return out;
}

std::vector<ScoredRequest> score_naive(Model<float>& model, const std::vector<TokenRequest>& requests) {
  const int L = model.config().context_length;
  std::vector<ScoredRequest> out(requests.size());
  std::vector<float> logits(size_t(model.config().vocab_size));
  for (size_t i = 0; i < requests.size(); ++i) {
    bool first = true;
    for (const TokenRequest& p : pieces_of(requests[i], L)) {
      const Window w = make_window(p, L);
      const std::vector<int32_t> targets(w.input.size(), Model<float>::kIgnoreIndex);
      model.forward(w.input.data(), targets.data(), 1, int(w.input.size()));
      combine(out[i], score_continuation(model, w.first_scored, p.continuation, logits), first);
      first = false;
    }
  }
  return out;
}

}  // namespace merino::eval

#include "data/tokenizer/bpe_merge.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace merino::tok {

MergeTable::MergeTable(size_t expected_rules) {
  size_t cap = 16;
  while (cap < expected_rules * 2) cap *= 2;  // load factor <= 1/2 keeps probe chains short
  slots_.assign(cap, Slot{kEmpty, Rule{0, 0}});
  mask_ = cap - 1;
  shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(cap));
}

void MergeTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  *this = MergeTable(std::max<size_t>(old.size(), 8));
  for (const Slot& s : old) {
    if (s.key != kEmpty) set(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.rule);
  }
}

void MergeTable::set(int32_t left, int32_t right, Rule rule) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pack(left, right);
  for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) {
      s.rule = rule;
      return;
    }
    if (s.key == kEmpty) {
      s = Slot{key, rule};
      ++size_;
      return;
    }
  }
}

namespace {

// Min-heap order on (rank, position): lowest rank first, and among equal ranks the leftmost,
// which reproduces encoder.py merging every occurrence of the best pair from left to right.
struct Later {
  bool operator()(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

// merges the n symbols already in s.id
void merge_symbols(int32_t n, const MergeTable& merges, BpeScratch& s, std::vector<int32_t>& out) {
  s.next.resize(n);
  s.prev.resize(n);
  s.heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    s.next[i] = i + 1 < n ? i + 1 : -1;
    s.prev[i] = i - 1;
  }
  auto queue = [&](int32_t pos, bool heapify) {
    const int32_t r = s.next[pos];
    if (const MergeTable::Rule* rule = merges.find(s.id[pos], s.id[r])) {
      s.heap.push_back({rule->rank, pos, s.id[pos], s.id[r], rule->merged});
      if (heapify) std::push_heap(s.heap.begin(), s.heap.end(), Later{});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) queue(i, false);
  std::make_heap(s.heap.begin(), s.heap.end(), Later{});

  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), Later{});
    const BpeScratch::Candidate c = s.heap.back();
    s.heap.pop_back();
    // A candidate is stale once either symbol has merged: ids at a position only ever grow into
    // longer tokens, so unchanged ids mean the pair is still there. Absorbed symbols get id -1.
    const int32_t r = s.next[c.pos];
    if (s.id[c.pos] != c.left || r < 0 || s.id[r] != c.right) continue;
    s.id[c.pos] = c.merged;
    s.id[r] = -1;
    s.next[c.pos] = s.next[r];
    if (s.next[r] >= 0) s.prev[s.next[r]] = c.pos;
    if (s.prev[c.pos] >= 0) queue(s.prev[c.pos], true);
    if (s.next[c.pos] >= 0) queue(c.pos, true);
  }
  for (int32_t i = 0; i >= 0; i = s.next[i]) out.push_back(s.id[i]);
}

}  // namespace

void bpe_merge(std::string_view piece, const int32_t (&byte_token)[256], const MergeTable& merges,
               BpeScratch& s, std::vector<int32_t>& out) {
  if (piece.size() > static_cast<size_t>(INT32_MAX)) throw std::length_error("merino tokenizer: piece over 2 GiB");
  const int32_t n = static_cast<int32_t>(piece.size());
  if (n == 1) {
    out.push_back(byte_token[static_cast<unsigned char>(piece[0])]);
    return;
  }
  s.id.resize(n);
  for (int32_t i = 0; i < n; ++i) s.id[i] = byte_token[static_cast<unsigned char>(piece[i])];
  merge_symbols(n, merges, s, out);
}

void bpe_merge_symbols(BpeScratch& s, const MergeTable& merges, std::vector<int32_t>& out) {
  if (s.id.size() > static_cast<size_t>(INT32_MAX)) throw std::length_error("merino tokenizer: piece over 2G symbols");
  if (!s.id.empty()) merge_symbols(static_cast<int32_t>(s.id.size()), merges, s, out);
}

}  // namespace merino::tok

// The BPE merge step for one piece: start from one token per byte, then repeatedly merge the
// adjacent pair with the lowest merge rank (leftmost first among equal ranks) until no adjacent
// pair has a rank. This is GPT-2 encoder.py's bpe() and HF tokenizers' Word::merge_all, computed
// in O(n log n) with a min-heap of candidate pairs over a doubly linked list of symbols instead of
// rescanning all pairs after every merge.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace merino::tok {

// (left id, right id) -> (rank, merged id), an open-addressing hash table: this lookup is the
// inner loop of BPE, and std::unordered_map's node-per-entry layout is several times slower.
class MergeTable {
 public:
  struct Rule {
    int32_t rank;
    int32_t merged;
  };

  MergeTable() = default;
  explicit MergeTable(size_t expected_rules);
  // Adds or replaces the rule for (left, right); ids must be >= 0.
  void set(int32_t left, int32_t right, Rule rule);
  const Rule* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.rule;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    Rule rule;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative, so no real key
  static uint64_t pack(int32_t l, int32_t r) {
    return (uint64_t{static_cast<uint32_t>(l)} << 32) | static_cast<uint32_t>(r);
  }
  size_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
};

// Reusable buffers for merge(); one per thread.
struct BpeScratch {
  struct Candidate {
    int32_t rank;
    int32_t pos;    // index of the left symbol (its first byte's offset in the piece)
    int32_t left;   // ids the pair had when queued: a stale candidate no longer matches them
    int32_t right;
    int32_t merged;
  };
  std::vector<int32_t> id, next, prev;
  std::vector<Candidate> heap;
};

// Appends the ids of piece (raw bytes, non-empty) to out. byte_token[b] is the id of the
// single-byte token for b.
void bpe_merge(std::string_view piece, const int32_t (&byte_token)[256], const MergeTable& merges,
               BpeScratch& scratch, std::vector<int32_t>& out);

// The same merge over the symbols the caller put in scratch.id (characters, or byte-fallback
// tokens, for vocabularies whose base symbols are characters: LLaMA-2 / SentencePiece style).
void bpe_merge_symbols(BpeScratch& scratch, const MergeTable& merges, std::vector<int32_t>& out);

}  // namespace merino::tok

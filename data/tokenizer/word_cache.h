// Memo of piece bytes -> token ids. Natural text repeats a small set of pieces (" the", ",",
// " of", ...) so most pieces skip BPE entirely. Not thread-safe by design: each encoding thread
// owns one, so lookups take no locks. Bounded: when full it is emptied and refilled, which keeps
// the frequent pieces (they come back at once) without any bookkeeping per hit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace merino::tok {

class WordCache {
 public:
  // Pieces longer than max_piece_bytes are not cached (rare, and their BPE cost dwarfs a miss).
  // max_piece_bytes is capped at 65535.
  explicit WordCache(size_t max_entries = size_t{1} << 16, size_t max_piece_bytes = 256);

  // On a hit appends the ids to out and returns true.
  bool lookup(std::string_view piece, std::vector<int32_t>& out) const;
  // Records ids[0..n) for piece (which must not be cached already).
  void insert(std::string_view piece, const int32_t* ids, size_t n);
  size_t size() const { return count_; }
  void clear();

 private:
  // 16 bytes, so that a full cache's table (2 MiB at the default size) stays mostly in L2/L3.
  struct Slot {
    uint32_t tag = 0;  // high half of the hash: most mismatches end here without a memcmp
    uint32_t key_off = 0;
    uint32_t val_off = 0;
    uint16_t key_len = 0;  // 0: empty slot (pieces are never empty)
    uint16_t val_len = 0;
  };
  static uint64_t hash_bytes(std::string_view s);
  size_t find_slot(std::string_view piece, uint64_t h) const;  // the match or the empty slot
  void rehash(size_t capacity);

  size_t max_entries_, max_piece_bytes_;
  std::vector<Slot> slots_;  // power-of-two size, grown lazily so short texts stay cheap
  size_t count_ = 0;
  std::string keys_;
  std::vector<int32_t> values_;
};

}  // namespace merino::tok

#include "data/tokenizer/word_cache.h"

#include <algorithm>
#include <cstring>

namespace merino::tok {

WordCache::WordCache(size_t max_entries, size_t max_piece_bytes)
    : max_entries_(max_entries), max_piece_bytes_(std::min<size_t>(max_piece_bytes, 0xFFFF)) {}

uint64_t WordCache::hash_bytes(std::string_view s) {
  // Most pieces are at most 8 bytes: one load and one multiply-xorshift; longer ones fold in
  // 8 bytes per step.
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = n * 0x9E3779B97F4A7C15ull;
  for (; n > 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xFF51AFD7ED558CCDull;
  return h ^ (h >> 32);
}

size_t WordCache::find_slot(std::string_view piece, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key_len == 0) return i;
    if (s.tag == tag && s.key_len == piece.size() &&
        std::memcmp(keys_.data() + s.key_off, piece.data(), piece.size()) == 0) {
      return i;
    }
  }
}

bool WordCache::lookup(std::string_view piece, std::vector<int32_t>& out) const {
  if (slots_.empty() || piece.size() > max_piece_bytes_) return false;
  const Slot& s = slots_[find_slot(piece, hash_bytes(piece))];
  if (s.key_len == 0) return false;
  out.insert(out.end(), values_.begin() + s.val_off, values_.begin() + s.val_off + s.val_len);
  return true;
}

void WordCache::rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  const size_t mask = capacity - 1;
  for (const Slot& s : old) {
    if (s.key_len == 0) continue;
    size_t i = hash_bytes(std::string_view(keys_.data() + s.key_off, s.key_len)) & mask;
    while (slots_[i].key_len != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void WordCache::clear() {
  for (Slot& s : slots_) s = Slot{};
  count_ = 0;
  keys_.clear();
  values_.clear();
}

void WordCache::insert(std::string_view piece, const int32_t* ids, size_t n) {
  if (piece.size() > max_piece_bytes_ || max_entries_ == 0) return;
  if (count_ >= max_entries_) clear();
  if ((count_ + 1) * 2 > slots_.size()) {  // load factor <= 1/2
    size_t cap = slots_.empty() ? 256 : slots_.size() * 2;
    rehash(cap);
  }
  const uint64_t h = hash_bytes(piece);
  Slot& s = slots_[find_slot(piece, h)];
  s.tag = static_cast<uint32_t>(h >> 32);
  s.key_off = static_cast<uint32_t>(keys_.size());
  s.key_len = static_cast<uint16_t>(piece.size());
  s.val_off = static_cast<uint32_t>(values_.size());
  s.val_len = static_cast<uint16_t>(n);
  keys_.append(piece);
  values_.insert(values_.end(), ids, ids + n);
  ++count_;
}

}  // namespace merino::tok

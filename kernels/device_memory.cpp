#include "kernels/device_memory.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace merino {

Arena::Arena(size_t capacity) : capacity_(capacity / kAlign * kAlign) {
  if (capacity_ > 0) free_[0] = capacity_;
}

std::optional<size_t> Arena::take(size_t bytes) {
  const size_t need = rounded(bytes);
  // best fit: of the free ranges that hold it, the smallest (the lowest offset among equals), so
  // large ranges stay whole for large requests
  auto best = free_.end();
  for (auto it = free_.begin(); it != free_.end(); ++it)
    if (it->second >= need && (best == free_.end() || it->second < best->second)) best = it;
  if (best == free_.end()) return std::nullopt;
  const size_t offset = best->first, size = best->second;
  free_.erase(best);
  if (size > need) free_[offset + need] = size - need;
  taken_[offset] = need;
  used_ += need;
  peak_ = std::max(peak_, used_);
  return offset;
}

void Arena::give_back(size_t offset) {
  auto t = taken_.find(offset);
  if (t == taken_.end())
    throw std::invalid_argument("Arena::give_back: no range taken at offset " + std::to_string(offset));
  size_t start = offset, size = t->second;
  used_ -= size;
  taken_.erase(t);
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first == start + size) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      size += prev->second;
      free_.erase(prev);
    }
  }
  free_[start] = size;
}

void MemoryPlan::add(const std::string& what, size_t bytes) {
  const size_t b = Arena::rounded(bytes);
  for (Part& p : parts)
    if (p.what == what) {
      p.bytes += b;
      return;
    }
  parts.push_back({what, b});
}

size_t MemoryPlan::total() const {
  size_t sum = 0;
  for (const Part& p : parts) sum += p.bytes;
  return sum;
}

std::string mebibytes(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1 << 20));
  return buf;
}

std::string MemoryPlan::describe() const {
  std::string out;
  for (const Part& p : parts) out += (out.empty() ? "" : ", ") + p.what + " " + mebibytes(p.bytes);
  return out;
}

DeviceMemory::DeviceMemory(std::function<void*(size_t)> raw_alloc,
                           std::function<void(void*)> raw_free)
    : raw_alloc_(std::move(raw_alloc)), raw_free_(std::move(raw_free)) {}

DeviceMemory::~DeviceMemory() {
  for (auto& [p, bytes] : outside_) raw_free_(p);
  raw_free_(block_);
}

void DeviceMemory::reserve(size_t bytes) {
  if (block_) throw std::logic_error("DeviceMemory::reserve: a block is already reserved");
  const size_t size = Arena::rounded(bytes);
  block_ = static_cast<char*>(raw_alloc_(size));
  arena_ = Arena(size);
}

void* DeviceMemory::alloc(size_t bytes) {
  if (block_) {
    if (std::optional<size_t> offset = arena_.take(bytes)) {
      peak_ = std::max(peak_, arena_.used() + outside_live_);
      return block_ + *offset;
    }
  }
  const size_t size = Arena::rounded(bytes);
  void* p = raw_alloc_(size);
  outside_[p] = size;
  outside_live_ += size;
  outside_peak_ = std::max(outside_peak_, outside_live_);
  peak_ = std::max(peak_, arena_.used() + outside_live_);
  return p;
}

void DeviceMemory::release(void* p) {
  if (!p) return;
  char* c = static_cast<char*>(p);
  if (block_ && c >= block_ && c < block_ + arena_.capacity()) {
    arena_.give_back(size_t(c - block_));
    return;
  }
  auto it = outside_.find(p);
  if (it == outside_.end())
    throw std::invalid_argument("DeviceMemory::release: pointer not allocated here");
  raw_free_(p);
  outside_live_ -= it->second;
  outside_.erase(it);
}

MemoryUse DeviceMemory::use() const {
  MemoryUse u;
  u.reserved = arena_.capacity();
  u.peak = peak_;
  u.outside_peak = outside_peak_;
  return u;
}

}  // namespace merino

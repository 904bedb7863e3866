// Planned memory (kernels/device_memory.h): the arena against a model of the block kept in a
// bitmap of Arena::kAlign units, DeviceMemory against a counting raw allocator, the CPU backend
// against both.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/device_memory.h"

namespace {

using merino::Arena;
constexpr size_t kU = Arena::kAlign;

TEST(Arena, RangesAreAlignedDisjointAndRoundedUp) {
  Arena a(10 * kU + 17);  // the odd tail is not usable
  EXPECT_EQ(a.capacity(), 10 * kU);
  const size_t x = *a.take(1), y = *a.take(kU + 1), z = *a.take(0);
  for (size_t o : {x, y, z}) EXPECT_EQ(o % kU, 0u);
  EXPECT_EQ(a.used(), 4 * kU);  // 1 -> 1 unit, kU+1 -> 2 units, 0 -> 1 unit
  std::set<size_t> starts{x, y, z};
  EXPECT_EQ(starts.size(), 3u);
  EXPECT_TRUE(y >= x + kU || y + 2 * kU <= x);
}

TEST(Arena, FullBlockThenNothing) {
  Arena a(4 * kU);
  EXPECT_EQ(*a.take(4 * kU), 0u);
  EXPECT_FALSE(a.take(1).has_value());
  a.give_back(0);
  EXPECT_EQ(a.used(), 0u);
  EXPECT_EQ(a.peak(), 4 * kU);
  EXPECT_FALSE(Arena(0).take(1).has_value());
}

TEST(Arena, GivenBackRangesMergeWithBothNeighbours) {
  Arena a(3 * kU);
  const size_t x = *a.take(kU), y = *a.take(kU), z = *a.take(kU);
  a.give_back(x);
  a.give_back(z);
  EXPECT_FALSE(a.take(2 * kU).has_value());  // two free units, not adjacent
  a.give_back(y);                            // joins both
  EXPECT_EQ(*a.take(3 * kU), 0u);
}

TEST(Arena, BestFitKeepsLargeRangesWhole) {
  Arena a(10 * kU);
  const size_t h1 = *a.take(4 * kU);  // [0,4)
  const size_t s1 = *a.take(kU);      // [4,5)
  const size_t h2 = *a.take(kU);      // [5,6)
  *a.take(kU);                        // [6,7), rest [7,10) free
  a.give_back(h1);
  a.give_back(h2);
  (void)s1;
  // free: [0,4) four units, [5,6) one unit, [7,10) three units: one unit goes to the one-unit hole
  EXPECT_EQ(*a.take(kU), 5 * kU);
  // three units go to the three-unit range, leaving the four-unit range for four
  EXPECT_EQ(*a.take(3 * kU), 7 * kU);
  EXPECT_EQ(*a.take(4 * kU), 0u);
}

TEST(Arena, GivingBackWhatWasNotTakenThrows) {
  Arena a(4 * kU);
  const size_t x = *a.take(kU);
  EXPECT_THROW(a.give_back(x + kU), std::invalid_argument);
  a.give_back(x);
  EXPECT_THROW(a.give_back(x), std::invalid_argument);
}

// Random takes and gives against a bitmap of the block: ranges never overlap, and a take fails
// only when no run of free units is long enough (the arena wastes nothing).
TEST(Arena, RandomUseMatchesABitmapOfTheBlock) {
  constexpr size_t units = 64;
  Arena a(units * kU);
  std::vector<bool> used(units, false);
  std::map<size_t, size_t> live;  // offset -> units
  std::mt19937 rng(7);
  auto longest_free_run = [&] {
    size_t best = 0, run = 0;
    for (bool u : used) best = std::max(best, run = u ? 0 : run + 1);
    return best;
  };
  for (int i = 0; i < 20000; ++i) {
    if (live.empty() || rng() % 2) {
      const size_t bytes = 1 + rng() % (8 * kU);
      const size_t need = (bytes + kU - 1) / kU;
      const std::optional<size_t> off = a.take(bytes);
      if (!off) {
        ASSERT_LT(longest_free_run(), need) << "take failed with room left, at op " << i;
        continue;
      }
      ASSERT_EQ(*off % kU, 0u);
      for (size_t u = *off / kU; u < *off / kU + need; ++u) {
        ASSERT_LT(u, units);
        ASSERT_FALSE(used[u]) << "overlap at unit " << u << ", op " << i;
        used[u] = true;
      }
      live[*off] = need;
    } else {
      auto it = std::next(live.begin(), long(rng() % live.size()));
      a.give_back(it->first);
      for (size_t u = it->first / kU; u < it->first / kU + it->second; ++u) used[u] = false;
      live.erase(it);
    }
    ASSERT_EQ(a.used() / kU, size_t(std::count(used.begin(), used.end(), true)));
  }
}

TEST(MemoryPlan, PartsSumRoundedBuffers) {
  merino::MemoryPlan p;
  p.add("parameters", 1);
  p.add("activations", 3 * kU);
  p.add("parameters", kU + 1);
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_EQ(p.parts[0].what, "parameters");
  EXPECT_EQ(p.parts[0].bytes, 3 * kU);
  EXPECT_EQ(p.total(), 6 * kU);
  merino::MemoryPlan q;
  q.add("gradients", 3 << 20);
  q.add("optimizer state", (1 << 20) / 2);
  EXPECT_EQ(q.describe(), "gradients 3.0 MiB, optimizer state 0.5 MiB");
}

// A raw allocator that records what it hands out.
struct CountingRaw {
  std::map<void*, size_t> live;
  int allocs = 0;
  void* alloc(size_t bytes) {
    ++allocs;
    void* p = std::aligned_alloc(kU, bytes);
    live[p] = bytes;
    return p;
  }
  void free(void* p) {
    if (!p) return;
    EXPECT_EQ(live.erase(p), 1u) << "freed twice or never allocated";
    std::free(p);
  }
};

merino::DeviceMemory counting_memory(CountingRaw& raw) {
  return merino::DeviceMemory([&](size_t b) { return raw.alloc(b); }, [&](void* p) { raw.free(p); });
}

TEST(DeviceMemory, WithoutReserveEveryAllocationIsItsOwn) {
  CountingRaw raw;
  {
    merino::DeviceMemory mem = counting_memory(raw);
    void* a = mem.alloc(10);
    void* b = mem.alloc(kU);
    EXPECT_EQ(raw.allocs, 2);
    mem.release(a);
    EXPECT_EQ(raw.live.size(), 1u);
    const merino::MemoryUse u = mem.use();
    EXPECT_EQ(u.reserved, 0u);
    EXPECT_EQ(u.peak, 2 * kU);
    EXPECT_EQ(u.outside_peak, 2 * kU);
    (void)b;  // freed by the destructor
  }
  EXPECT_TRUE(raw.live.empty());
}

TEST(DeviceMemory, ReservedBlockServesAllocationsThenOverflowIsCounted) {
  CountingRaw raw;
  {
    merino::DeviceMemory mem = counting_memory(raw);
    mem.reserve(3 * kU);
    EXPECT_EQ(raw.allocs, 1);
    char* a = static_cast<char*>(mem.alloc(kU));
    char* b = static_cast<char*>(mem.alloc(2 * kU));
    EXPECT_EQ(raw.allocs, 1);  // both from the block
    EXPECT_EQ(std::abs(b - a), std::ptrdiff_t(kU));
    void* c = mem.alloc(1);  // the block is full
    EXPECT_EQ(raw.allocs, 2);
    merino::MemoryUse u = mem.use();
    EXPECT_EQ(u.reserved, 3 * kU);
    EXPECT_EQ(u.peak, 4 * kU);
    EXPECT_EQ(u.outside_peak, kU);
    mem.release(a);
    mem.release(c);
    EXPECT_EQ(static_cast<char*>(mem.alloc(kU)), a);  // the freed range is reused
    EXPECT_EQ(raw.allocs, 2);
    EXPECT_THROW(mem.reserve(kU), std::logic_error);
    int x = 0;
    EXPECT_THROW(mem.release(&x), std::invalid_argument);
  }
  EXPECT_TRUE(raw.live.empty());
}

TEST(CpuBackendMemory, ReservedAllocationsAreZeroedAndAligned) {
  merino::CpuBackend<float> be;
  merino::MemoryPlan plan;
  for (int i = 0; i < 3; ++i) plan.add("buffers", 1000 * sizeof(float));
  be.reserve(plan);
  std::vector<float*> bufs;
  for (int i = 0; i < 3; ++i) {
    float* p = be.alloc(1000);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kU, 0u);
    for (int j = 0; j < 1000; ++j) ASSERT_EQ(p[j], 0.0f);
    std::fill(p, p + 1000, 1.0f);  // dirty it, so a reused range must be zeroed again
    bufs.push_back(p);
  }
  be.release(bufs[1]);
  float* again = be.alloc(1000);
  EXPECT_EQ(again, bufs[1]);
  for (int j = 0; j < 1000; ++j) ASSERT_EQ(again[j], 0.0f);
  EXPECT_EQ(be.memory_use().outside_peak, 0u);
  be.release(again);
  be.release(bufs[0]);
  be.release(bufs[2]);
}

}  // namespace

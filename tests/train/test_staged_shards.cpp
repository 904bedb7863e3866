// The NCCL communicator's reduce-scatter and all-gather of unequal shards
// (train/distributed/staged_shards.h) run here on the CPU: each rank is a thread, and the equal-count collectives are simulated
// over shared memory with a barrier. The index arithmetic is exactly what the GPU runs; small
// rounds force many of them, and the staging starts out as NaN, so that any element of an unused
// slot end that reached a result would show.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "train/distributed/communicator.h"
#include "train/distributed/staged_shards.h"

namespace {

class SimWorld {
 public:
  explicit SimWorld(int world) : world_(world), shared_(static_cast<size_t>(world)) {}
  int world() const { return world_; }
  std::vector<const float*>& shared() { return shared_; }
  void barrier() {
    std::unique_lock<std::mutex> lock(m_);
    const long gen = generation_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }

 private:
  const int world_;
  std::vector<const float*> shared_;  // each rank's buffer in the current collective
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  long generation_ = 0;
};

// The Ops of staged_shards.h on host memory, for one rank of a SimWorld.
struct SimOps {
  SimWorld& w;
  int rank;
  int collectives = 0;
  void copy(float* dst, const float* src, size_t n) { std::copy(src, src + n, dst); }
  void copy2d(float* dst, size_t dst_pitch, const float* src, size_t src_pitch, size_t width, size_t rows) {
    ASSERT_LE(width, dst_pitch);
    ASSERT_LE(width, src_pitch);
    for (size_t r = 0; r < rows; ++r) copy(dst + r * dst_pitch, src + r * src_pitch, width);
  }
  void reduce_scatter(const float* slots, float* own, size_t n) {
    w.shared()[size_t(rank)] = slots;
    w.barrier();
    for (size_t i = 0; i < n; ++i) {
      own[i] = 0;
      for (int q = 0; q < w.world(); ++q) own[i] += w.shared()[size_t(q)][size_t(rank) * n + i];
    }
    w.barrier();  // no rank refills its slots before every rank has read them
    ++collectives;
  }
  void all_gather(const float* own, float* slots, size_t n) {
    w.shared()[size_t(rank)] = own;
    w.barrier();
    for (int q = 0; q < w.world(); ++q) copy(slots + size_t(q) * n, w.shared()[size_t(q)], n);
    w.barrier();
    ++collectives;
  }
};

float value(int rank, size_t i) { return float(i % 1000) + 0.25f * float(rank + 1); }  // sums are exact

// Checks both algorithms for one layout of shards and one round length.
void check(const std::vector<size_t>& counts, size_t round) {
  SCOPED_TRACE("counts " + ::testing::PrintToString(counts) + ", round " + std::to_string(round));
  const int world = int(counts.size());
  const size_t n = std::accumulate(counts.begin(), counts.end(), size_t(0));
  const size_t longest = *std::max_element(counts.begin(), counts.end());
  const size_t rounds = (longest + round - 1) / round;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  SimWorld sim(world);
  std::vector<std::vector<float>> in(counts.size()), shard(counts.size()), gathered(counts.size());
  std::vector<int> collectives(counts.size());
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r) {
    in[size_t(r)].resize(n);
    for (size_t i = 0; i < n; ++i) in[size_t(r)][i] = value(r, i);
    ranks.emplace_back([&, r] {
      SimOps ops{sim, r};
      std::vector<float> stage((size_t(world) + 1) * round, nan);
      shard[size_t(r)].assign(counts[size_t(r)], nan);
      merino::staged_reduce_scatter(ops, in[size_t(r)].data(), shard[size_t(r)].data(), counts, r, stage.data(), round);
      // all-gather: each rank holds only its own shard (its summed gradients, say)
      std::vector<float>& data = gathered[size_t(r)];
      data.assign(n, nan);
      const size_t at = merino::shard_offset(counts, r);
      std::copy(shard[size_t(r)].begin(), shard[size_t(r)].end(), data.begin() + long(at));
      std::fill(stage.begin(), stage.end(), nan);
      merino::staged_all_gather(ops, data.data(), counts, r, stage.data(), round);
      collectives[size_t(r)] = ops.collectives;
    });
  }
  for (auto& t : ranks) t.join();

  std::vector<float> sum(n);
  for (size_t i = 0; i < n; ++i)
    for (int r = 0; r < world; ++r) sum[i] += value(r, i);
  for (int r = 0; r < world; ++r) {
    const size_t at = merino::shard_offset(counts, r);
    const std::vector<float> expect(sum.begin() + long(at), sum.begin() + long(at + counts[size_t(r)]));
    EXPECT_EQ(shard[size_t(r)], expect) << "reduce-scatter, rank " << r;
    EXPECT_EQ(gathered[size_t(r)], sum) << "all-gather, rank " << r;
    EXPECT_EQ(collectives[size_t(r)], int(2 * rounds)) << "rank " << r;
  }
}

TEST(distributed_staged_shards, RunsGroupEqualNeighbours) {
  const std::vector<merino::ShardRun> runs = merino::shard_runs({4, 4, 4, 3, 3, 0, 2});
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].first, 0u);
  EXPECT_EQ(runs[0].ranks, 3u);
  EXPECT_EQ(runs[1].first, 3u);
  EXPECT_EQ(runs[1].offset, 12u);
  EXPECT_EQ(runs[2].count, 0u);
  EXPECT_EQ(runs[3].offset, 18u);
}

TEST(distributed_staged_shards, ReduceScatterAndAllGatherMatchTheDirectSums) {
  for (int world : {2, 3, 4})
    for (size_t n : {1ul, 7ul, 64ul, 1001ul})
      for (size_t round : {1ul, 3ul, 32ul, 4096ul}) check(merino::shard_counts(n, world), round);
  // any layout, not only shard_counts()'s: runs of several lengths, an empty shard
  check({5, 0, 3, 3, 7}, 2);
  check({5, 0, 3, 3, 7}, 7);
}

}  // namespace

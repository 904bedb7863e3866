// Reduce-scatter and all-gather of shards of unequal length (shard_counts() gives the first
// n % world ranks one element more) with collectives that take one length for every rank, as
// NCCL's do. The work goes in rounds through a staging buffer: round k moves elements
// [lo, lo + w) of every rank's shard, rank r's piece at slot r * w of the staging, so that an
// equal-count collective of w elements per rank applies. A shard shorter than lo + w leaves the
// end of its slot unused: whatever is there is summed or gathered like the rest and then dropped.
// The staging's size bounds the extra memory, where padding the whole buffer would cost as much
// again as the gradients, which ZeRO-1 is there to save.
// Consecutive ranks with shards of one length form a run, copied with one strided 2-D copy, so a
// round costs two copies for shard_counts()'s layout whatever the number of ranks.
// Ops is the device: it queues, in order,
//   copy(dst, src, n)                                     n contiguous floats
//   copy2d(dst, dst_pitch, src, src_pitch, width, rows)   rows of `width` floats, pitches in floats
//   reduce_scatter(slots, own, w)   own = the sum over ranks of their slot `rank` (w floats)
//   all_gather(own, slots, w)       slot r = rank r's own
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace merino {

struct ShardRun {  // ranks [first, first + ranks) hold `count` elements each, from `offset` on
  size_t first, ranks, count, offset;
};

inline std::vector<ShardRun> shard_runs(const std::vector<size_t>& counts) {
  std::vector<ShardRun> runs;
  size_t offset = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    if (!runs.empty() && runs.back().count == counts[r]) ++runs.back().ranks;
    else runs.push_back({r, 1, counts[r], offset});
    offset += counts[r];
  }
  return runs;
}

// `stage` holds (counts.size() + 1) * round floats: the slots, then this rank's own piece.
template <class Ops>
void staged_reduce_scatter(Ops& ops, const float* in, float* shard, const std::vector<size_t>& counts, int rank,
                           float* stage, size_t round) {
  const std::vector<ShardRun> runs = shard_runs(counts);
  const size_t longest = *std::max_element(counts.begin(), counts.end()), mine = counts[size_t(rank)];
  float* own = stage + counts.size() * round;
  for (size_t lo = 0; lo < longest; lo += round) {
    const size_t w = std::min(round, longest - lo);
    for (const ShardRun& run : runs)
      if (run.count > lo)
        ops.copy2d(stage + run.first * w, w, in + run.offset + lo, run.count, std::min(w, run.count - lo), run.ranks);
    ops.reduce_scatter(stage, own, w);
    if (mine > lo) ops.copy(shard + lo, own, std::min(w, mine - lo));
  }
}

// In place, as Communicator::all_gather: every rank contributes its shard of `data`.
template <class Ops>
void staged_all_gather(Ops& ops, float* data, const std::vector<size_t>& counts, int rank, float* stage,
                       size_t round) {
  const std::vector<ShardRun> runs = shard_runs(counts);
  const size_t longest = *std::max_element(counts.begin(), counts.end()), mine = counts[size_t(rank)];
  size_t mine_at = 0;
  for (int r = 0; r < rank; ++r) mine_at += counts[size_t(r)];
  float* own = stage + counts.size() * round;
  for (size_t lo = 0; lo < longest; lo += round) {
    const size_t w = std::min(round, longest - lo);
    if (mine > lo) ops.copy(own, data + mine_at + lo, std::min(w, mine - lo));
    ops.all_gather(own, stage, w);
    for (const ShardRun& run : runs)
      if (run.count > lo)
        ops.copy2d(data + run.offset + lo, run.count, stage + run.first * w, w, std::min(w, run.count - lo), run.ranks);
  }
}

}  // namespace merino

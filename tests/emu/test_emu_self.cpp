// The emulator's semantics (barriers, shuffles, votes, wmma fragments, shared memory bounds,
// launch limits) and the planted bugs it must expose: a missing __syncthreads, a shuffle with
// the wrong lane, a missing __syncwarp after a fragment store, a fragment loaded with the wrong
// layout. Expected values are computed here on the host, independently of the emulator.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "tests/emu/selftest_kernels.h"

namespace merino::emu_selftest {
namespace {

std::vector<float> iota_floats(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i + 1);
  return v;
}

int mismatches(const std::vector<float>& got, const std::vector<float>& want, float tol = 0.f) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) bad += !(std::fabs(got[i] - want[i]) <= tol);
  return bad;
}

TEST(EmuBarrier, SyncthreadsOrdersSharedMemoryAcrossTheBlock) {
  for (int n : {32, 100, 1024}) {
    const std::vector<float> in = iota_floats(n);
    std::vector<float> want(in.rbegin(), in.rend());
    EXPECT_EQ(mismatches(block_reverse(in, true), want), 0) << "n = " << n;
  }
}

TEST(EmuBarrier, MissingSyncthreadsIsCaught) {
  const std::vector<float> in = iota_floats(256);
  std::vector<float> want(in.rbegin(), in.rend());
  // threads run in order up to the barrier: without it, the first half reads slots the second
  // half has not written yet (garbage)
  EXPECT_GE(mismatches(block_reverse(in, false), want), 128);
}

TEST(EmuBarrier, ExitedThreadsDoNotBlockTheBarrier) {
  for (int active : {1, 77, 256}) {
    const std::vector<int> got = barrier_sum(256, active);
    for (int t = 0; t < active; ++t) ASSERT_EQ(got[t], active * (active - 1) / 2) << t;
  }
}

TEST(EmuShuffle, ButterflySumGivesEveryLaneTheWarpSum) {
  std::vector<float> in(96);  // three warps of values without the symmetry of an iota
  for (int i = 0; i < 96; ++i) in[i] = static_cast<float>(i * i % 37);
  std::vector<float> want(96);
  for (int w = 0; w < 3; ++w) {
    const float s = std::accumulate(in.begin() + 32 * w, in.begin() + 32 * w + 32, 0.f);
    for (int l = 0; l < 32; ++l) want[32 * w + l] = s;
  }
  EXPECT_EQ(mismatches(warp_allreduce(in, false), want), 0);
  EXPECT_GT(mismatches(warp_allreduce(in, true), want), 0) << "a wrong shuffle lane must show";
}

// The PTX ISA's shfl.sync rules: idx reads lane (seg + src % width); up / down read lane -/+
// delta and keep their own value when that leaves the width-lane segment; xor reads lane ^ mask.
template <class T>
void check_shuffle_patterns() {
  const std::vector<T> got = shuffle_patterns<T>();
  const auto v = [](int lane) { return static_cast<T>(lane) + static_cast<T>(1000); };
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(got[0 * 32 + lane], v((lane & ~7) + 5)) << "idx, lane " << lane;
    EXPECT_EQ(got[1 * 32 + lane], v(lane % 16 >= 3 ? lane - 3 : lane)) << "up, lane " << lane;
    EXPECT_EQ(got[2 * 32 + lane], v(lane % 16 + 3 < 16 ? lane + 3 : lane)) << "down " << lane;
    EXPECT_EQ(got[3 * 32 + lane], v(lane ^ 9)) << "xor, lane " << lane;
  }
}
TEST(EmuShuffle, PatternsFollowThePtxRulesFloat) { check_shuffle_patterns<float>(); }
TEST(EmuShuffle, PatternsFollowThePtxRulesInt) { check_shuffle_patterns<int>(); }
TEST(EmuShuffle, PatternsFollowThePtxRules64BitDouble) { check_shuffle_patterns<double>(); }
TEST(EmuShuffle, PatternsFollowThePtxRules64BitInteger) {
  check_shuffle_patterns<unsigned long long>();
}

TEST(EmuShuffle, Bf16PairsMoveAsOneValue) {
  const std::vector<float> got = shuffle_bf16x2();
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(got[2 * lane], float(lane ^ 1)) << lane;  // small integers are exact in bf16
    EXPECT_EQ(got[2 * lane + 1], -float(lane ^ 1)) << lane;
  }
}

TEST(EmuShuffle, VotesSeeEveryLane) {
  Votes v = votes(4);
  EXPECT_EQ(v.ballot, 0x11111111u);
  EXPECT_EQ(v.any, 1);
  EXPECT_EQ(v.all, 0);
  v = votes(1);
  EXPECT_EQ(v.ballot, 0xffffffffu);
  EXPECT_EQ(v.all, 1);
  v = votes(64);  // only lane 0
  EXPECT_EQ(v.ballot, 1u);
  EXPECT_EQ(v.any, 1);
}

TEST(EmuShuffleDeathTest, ShuffleNamingExitedLanesAborts) {
  EXPECT_DEATH(shuffle_with_exited_lanes(), "have exited");
}

TEST(EmuBarrierDeathTest, DeadlockAborts) {
  EXPECT_DEATH(barrier_against_collective(), "deadlock");
}

// D = A B in double from the bf16-rounded inputs (exact products; fp32 sums of 16 terms)
std::vector<float> gemm_ref(const std::vector<float>& a, const std::vector<float>& b) {
  const auto r = [](float x) {  // round to bf16, nearest even (finite inputs)
    uint32_t u;
    std::memcpy(&u, &x, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  std::vector<float> d(256);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      double s = 0;
      for (int k = 0; k < 16; ++k) s += double(r(a[i * 16 + k])) * r(b[k * 16 + j]);
      d[i * 16 + j] = static_cast<float>(s);
    }
  return d;
}

TEST(EmuWmma, FragmentsComputeTheProductAndAMissingSyncwarpOrWrongLayoutShows) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> a(256), b(256);
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  const std::vector<float> want = gemm_ref(a, b);
  EXPECT_EQ(mismatches(wmma_gemm(a, b, true, false), want, 1e-5f), 0);
  EXPECT_GT(mismatches(wmma_gemm(a, b, false, false), want, 1e-5f), 64)
      << "reads of other lanes' fragment elements without __syncwarp must see stale data";
  EXPECT_GT(mismatches(wmma_gemm(a, b, true, true), want, 1e-5f), 128)
      << "B loaded column-major must give B^T's product";
}

TEST(EmuSharedDeathTest, DynamicSharedMemoryPastTheRequestAborts) {
  touch_dynamic_shared(1024, 256);  // exactly the request: fine
  // 1024 bytes end at the inaccessible page: the first float past them faults
  EXPECT_DEATH(touch_dynamic_shared(1024, 257), "past the 1024 bytes");
  // 100 bytes leave alignment slack before the page: the write is found when the block ends
  EXPECT_DEATH(touch_dynamic_shared(100, 26), "past the 100 bytes");
  EXPECT_DEATH(touch_dynamic_shared(0, 1), "past the 0 bytes");
}

TEST(EmuLaunch, LimitsAreThoseOfAnSm90Device) {
  EXPECT_EQ(launch_status(dim3(1), dim3(1024), 0, -1), cudaSuccess);
  EXPECT_EQ(launch_status(dim3(1), dim3(1025), 0, -1), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(32, 32, 2), 0, -1), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(1, 1, 65), 0, -1), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(0), 0, -1), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1, 65536), dim3(1), 0, -1), cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(dim3(1), dim3(32), 48 * 1024, -1), cudaSuccess);
  EXPECT_EQ(launch_status(dim3(1), dim3(32), 48 * 1024 + 1, -1), cudaErrorInvalidValue);
  EXPECT_EQ(launch_status(dim3(1), dim3(32), 100 * 1024, 100 * 1024), cudaSuccess);
  EXPECT_EQ(launch_status(dim3(1), dim3(32), 100 * 1024 + 4, -1), cudaErrorInvalidValue);
  EXPECT_EQ(launch_status(dim3(1), dim3(32), 0, 227 * 1024 + 1), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "errors are reported once";
}

TEST(EmuRuntime, OneDeviceWithSm90Limits) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  cudaDeviceProp prop;
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_EQ(prop.major, 9);
  EXPECT_EQ(prop.maxThreadsPerBlock, 1024);
  int optin = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0),
            cudaSuccess);
  EXPECT_EQ(optin, 227 * 1024);
}

}  // namespace
}  // namespace merino::emu_selftest

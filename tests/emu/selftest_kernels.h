// Small kernels that pin down the emulator's semantics (test_emu_self.cpp), each in a correct
// and, where it matters, a deliberately broken variant: the broken ones must give wrong results
// under the emulation, which is what makes a missing barrier or a wrong shuffle lane in the real
// kernels show up. Host wrappers take and return host vectors; launch errors come back as the
// cudaError_t of cudaGetLastError.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

namespace merino::emu_selftest {

// out[i] = in[n - 1 - i] through shared memory, one block of n threads; with_barrier = false
// drops the __syncthreads between the shared-memory writes and reads.
std::vector<float> block_reverse(const std::vector<float>& in, bool with_barrier);

// Each 32-lane warp's sum in every lane, by a butterfly of __shfl_xor_sync; wrong_lane = true
// pairs lanes with offset o ^ 1 instead of o.
std::vector<float> warp_allreduce(const std::vector<float>& in, bool wrong_lane);

// One lane's view of each shuffle flavour, for a warp holding lane ids (double and 64-bit
// values for T = double / unsigned long long): out[k * 32 + lane] for k = idx (src 5, width
// 8), up (delta 3, width 16), down (delta 3, width 16), xor (mask 9, width 32).
template <class T>
std::vector<T> shuffle_patterns();

// A warp of __nv_bfloat162 {lane, -lane} exchanged with __shfl_xor_sync(mask 1): lane l's
// result as two floats at out[2 l], out[2 l + 1].
std::vector<float> shuffle_bf16x2();

// __ballot_sync / __any_sync / __all_sync over the predicate lane % period == 0, lane 0's view.
struct Votes {
  unsigned ballot;
  int any, all;
};
Votes votes(int period);

// D = A B (16 x 16 x 16, bf16 in, fp32 out) by one warp through wmma, staged in shared memory
// and read back by plain loads; with_syncwarp = false drops the __syncwarp between the
// fragment store and the reads; b_col_major = true loads B with the wrong layout.
std::vector<float> wmma_gemm(const std::vector<float>& a, const std::vector<float>& b,
                             bool with_syncwarp, bool b_col_major);

// Every thread of a block of n writes its id to shared memory, syncs, and sums all ids;
// threads >= active return before the barrier. Returns each active thread's sum.
std::vector<int> barrier_sum(int n, int active);

// Writes `floats` floats into dynamic shared memory after a launch that asked for
// `smem_bytes` (the test uses it to go past the end).
void touch_dynamic_shared(size_t smem_bytes, int floats);

// A launch of the trivial kernel with this configuration; returns cudaGetLastError().
cudaError_t launch_status(dim3 grid, dim3 block, size_t smem, int max_dynamic_smem);

// Thread 0 waits at __syncthreads while thread 1 waits for it in __syncwarp(0x3): a deadlock.
void barrier_against_collective();

// Lanes 0..15 of a warp exit, lanes 16..31 then call __shfl_xor_sync with the full mask.
void shuffle_with_exited_lanes();

}  // namespace merino::emu_selftest

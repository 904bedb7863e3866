// What the emulator's scheduler (scheduler.cpp) shares with its CUDA runtime API
// (runtime_api.cpp): launch errors, per-kernel attributes and the emulated device's limits.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace merino_emu {

// The emulated device: sm_90-like limits (an H100 SXM's).
constexpr int kMaxThreadsPerBlock = 1024;
constexpr int kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535u, 65535u};
constexpr size_t kSharedPerBlock = 48 * 1024;             // default dynamic + static limit
constexpr size_t kSharedPerBlockOptin = 227 * 1024;       // cudaDevAttrMaxSharedMemoryPerBlockOptin
constexpr size_t kSharedPerMultiprocessor = 228 * 1024;
constexpr int kMultiprocessors = 132;

// Records err as the error the next cudaGetLastError / cudaPeekAtLastError returns.
void set_last_error(cudaError_t err);
cudaError_t peek_last_error();
cudaError_t take_last_error();  // and clears it

// cudaFuncSetAttribute(func, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)
void set_max_dynamic_shared(const void* func, size_t bytes);

// Deterministic pseudo-random bytes (the garbage in fresh shared and device memory).
void fill_garbage(void* p, size_t bytes, unsigned long long seed);

}  // namespace merino_emu

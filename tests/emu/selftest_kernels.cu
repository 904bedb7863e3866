// Kernels of the emulator's self-test (selftest_kernels.h); compiled like kernels/cuda/*.cu
// (emu_transform.py, then the emulation header).
#include "tests/emu/selftest_kernels.h"

#include <cuda_bf16.h>
#include <mma.h>

#include <stdexcept>

namespace merino::emu_selftest {
namespace {

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  cudaMalloc(reinterpret_cast<void**>(&d), h.size() * sizeof(T) + 1);
  cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  return d;
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
  return h;
}
template <class T>
T* device_zeros(size_t n) {
  return to_device(std::vector<T>(n));
}
void check_launch() {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(cudaGetErrorName(err));
}

template <bool BARRIER>
__global__ void reverse_kernel(float* out, const float* in) {
  __shared__ float s[1024];
  const int t = threadIdx.x, n = blockDim.x;
  s[t] = in[t];
  if (BARRIER) __syncthreads();
  out[t] = s[n - 1 - t];
}

template <bool WRONG>
__global__ void allreduce_kernel(float* out, const float* in) {
  float v = in[threadIdx.x];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, WRONG ? o ^ 1 : o);
  out[threadIdx.x] = v;
}

template <class T>
__global__ void shuffle_kernel(T* out) {
  const unsigned lane = threadIdx.x;
  const T v = static_cast<T>(lane) + static_cast<T>(1000);
  out[0 * 32 + lane] = __shfl_sync(0xffffffffu, v, 5, 8);
  out[1 * 32 + lane] = __shfl_up_sync(0xffffffffu, v, 3, 16);
  out[2 * 32 + lane] = __shfl_down_sync(0xffffffffu, v, 3, 16);
  out[3 * 32 + lane] = __shfl_xor_sync(0xffffffffu, v, 9);
}

__global__ void shuffle_bf16x2_kernel(float* out) {
  const float lane = static_cast<float>(threadIdx.x);
  const __nv_bfloat162 v = __floats2bfloat162_rn(lane, -lane);
  const __nv_bfloat162 w = __shfl_xor_sync(0xffffffffu, v, 1);
  out[2 * threadIdx.x] = __low2float(w);
  out[2 * threadIdx.x + 1] = __high2float(w);
}

__global__ void vote_kernel(unsigned* ballot, int* any, int* all, int period) {
  const int pred = threadIdx.x % period == 0;
  const unsigned b = __ballot_sync(0xffffffffu, pred);
  const int y = __any_sync(0xffffffffu, pred), a = __all_sync(0xffffffffu, pred);
  if (threadIdx.x == 0) {
    *ballot = b;
    *any = y;
    *all = a;
  }
}

namespace wmma = nvcuda::wmma;

template <bool SYNC, bool B_COL>
__global__ void wmma_kernel(float* d, const __nv_bfloat16* a, const __nv_bfloat16* b) {
  __shared__ __align__(32) float stage[16 * 16];
  using BLayout = typename std::conditional<B_COL, wmma::col_major, wmma::row_major>::type;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, BLayout> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.f);
  wmma::load_matrix_sync(fa, a, 16);
  wmma::load_matrix_sync(fb, b, 16);
  wmma::mma_sync(acc, fa, fb, acc);
  wmma::store_matrix_sync(stage, acc, 16, wmma::mem_row_major);
  if (SYNC) __syncwarp();
  // lane l copies row l / 2, columns 8 (l % 2) .. + 7: mostly elements other lanes stored
  const int lane = threadIdx.x;
  for (int c = 0; c < 8; ++c) {
    const int i = (lane / 2) * 16 + (lane % 2) * 8 + c;
    d[i] = stage[i];
  }
}

__global__ void barrier_sum_kernel(int* out, int active) {
  __shared__ int ids[1024];
  const int t = threadIdx.x;
  if (t >= active) return;
  ids[t] = t;
  __syncthreads();
  int s = 0;
  for (int i = 0; i < active; ++i) s += ids[i];
  out[t] = s;
}

__global__ void dynamic_shared_kernel(int floats) {
  extern __shared__ float dyn[];
  if (threadIdx.x == 0) {
    for (int i = 0; i < floats; ++i) dyn[i] = 1.f;
  }
}

__global__ void trivial_kernel() {}

__global__ void deadlock_kernel() {
  if (threadIdx.x == 0) {
    __syncthreads();
  } else {
    __syncwarp(0x3u);
  }
}

__global__ void exited_lanes_kernel(float* out) {
  if (threadIdx.x < 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.f, 1);
}

}  // namespace

std::vector<float> block_reverse(const std::vector<float>& in, bool with_barrier) {
  const int n = static_cast<int>(in.size());
  float* d_in = to_device(in);
  float* d_out = device_zeros<float>(in.size());
  if (with_barrier) {
    reverse_kernel<true><<<1, n>>>(d_out, d_in);
  } else {
    reverse_kernel<false><<<1, n>>>(d_out, d_in);
  }
  check_launch();
  std::vector<float> out = to_host(d_out, in.size());
  cudaFree(d_in);
  cudaFree(d_out);
  return out;
}

std::vector<float> warp_allreduce(const std::vector<float>& in, bool wrong_lane) {
  const int n = static_cast<int>(in.size());
  float* d_in = to_device(in);
  float* d_out = device_zeros<float>(in.size());
  if (wrong_lane) {
    allreduce_kernel<true><<<1, n>>>(d_out, d_in);
  } else {
    allreduce_kernel<false><<<1, n>>>(d_out, d_in);
  }
  check_launch();
  std::vector<float> out = to_host(d_out, in.size());
  cudaFree(d_in);
  cudaFree(d_out);
  return out;
}

template <class T>
std::vector<T> shuffle_patterns() {
  T* d = device_zeros<T>(4 * 32);
  shuffle_kernel<T><<<1, 32>>>(d);
  check_launch();
  std::vector<T> out = to_host(d, 4 * 32);
  cudaFree(d);
  return out;
}
template std::vector<float> shuffle_patterns<float>();
template std::vector<int> shuffle_patterns<int>();
template std::vector<double> shuffle_patterns<double>();
template std::vector<unsigned long long> shuffle_patterns<unsigned long long>();

std::vector<float> shuffle_bf16x2() {
  float* d = device_zeros<float>(64);
  shuffle_bf16x2_kernel<<<1, 32>>>(d);
  check_launch();
  std::vector<float> out = to_host(d, 64);
  cudaFree(d);
  return out;
}

Votes votes(int period) {
  unsigned* b = device_zeros<unsigned>(1);
  int* y = device_zeros<int>(1);
  int* a = device_zeros<int>(1);
  vote_kernel<<<1, 32>>>(b, y, a, period);
  check_launch();
  Votes v{to_host(b, 1)[0], to_host(y, 1)[0], to_host(a, 1)[0]};
  cudaFree(b);
  cudaFree(y);
  cudaFree(a);
  return v;
}

std::vector<float> wmma_gemm(const std::vector<float>& a, const std::vector<float>& b,
                             bool with_syncwarp, bool b_col_major) {
  std::vector<__nv_bfloat16> ha(256), hb(256);
  for (int i = 0; i < 256; ++i) {
    ha[i] = __float2bfloat16_rn(a[i]);
    hb[i] = __float2bfloat16_rn(b[i]);
  }
  __nv_bfloat16* da = to_device(ha);
  __nv_bfloat16* db = to_device(hb);
  float* dd = device_zeros<float>(256);
  if (with_syncwarp && !b_col_major) {
    wmma_kernel<true, false><<<1, 32>>>(dd, da, db);
  } else if (with_syncwarp) {
    wmma_kernel<true, true><<<1, 32>>>(dd, da, db);
  } else {
    wmma_kernel<false, false><<<1, 32>>>(dd, da, db);
  }
  check_launch();
  std::vector<float> out = to_host(dd, 256);
  cudaFree(da);
  cudaFree(db);
  cudaFree(dd);
  return out;
}

std::vector<int> barrier_sum(int n, int active) {
  int* d = device_zeros<int>(n);
  barrier_sum_kernel<<<1, n>>>(d, active);
  check_launch();
  std::vector<int> out = to_host(d, active);
  cudaFree(d);
  return out;
}

void touch_dynamic_shared(size_t smem_bytes, int floats) {
  dynamic_shared_kernel<<<1, 32, smem_bytes>>>(floats);
  check_launch();
}

cudaError_t launch_status(dim3 grid, dim3 block, size_t smem, int max_dynamic_smem) {
  if (max_dynamic_smem >= 0) {
    const cudaError_t err = cudaFuncSetAttribute(
        trivial_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_dynamic_smem);
    if (err != cudaSuccess) return err;
  }
  trivial_kernel<<<grid, block, smem>>>();
  return cudaGetLastError();
}

void barrier_against_collective() {
  deadlock_kernel<<<1, 2>>>();
  check_launch();
}

void shuffle_with_exited_lanes() {
  float* d = device_zeros<float>(32);
  exited_lanes_kernel<<<1, 32>>>(d);
  check_launch();
  cudaFree(d);
}

}  // namespace merino::emu_selftest

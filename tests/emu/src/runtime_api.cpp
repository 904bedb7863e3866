// The CUDA runtime API of the emulated device, with the real cuda_runtime_api.h declarations:
// one device with sm_90-like limits; device memory is host memory; streams and events exist
// but everything is synchronous (a kernel has finished when its launch returns), so the
// synchronisation calls have nothing to wait for. Only what kernels/cuda and tests/cuda call is
// here; anything else fails to link, which is how a test that needs more shows up.
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <unordered_map>

#include "emu_internal.h"
#include "merino_emu.h"

#undef asm

namespace merino_emu {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kAlign = 256;  // cudaMalloc's alignment

// Each allocation ends as close to an inaccessible page as its 256-byte alignment allows, so a
// kernel reading or writing well past a buffer faults instead of touching a neighbour.
struct Mapping {
  void* base;
  size_t bytes;
};
std::unordered_map<void*, Mapping> g_allocations;
unsigned long long g_alloc_count = 0;

cudaError_t allocate(void** ptr, size_t size) {
  if (!ptr) return cudaErrorInvalidValue;
  const size_t used = (size + kAlign - 1) / kAlign * kAlign;
  const size_t bytes = (used + kPage - 1) / kPage * kPage + kPage;
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return cudaErrorMemoryAllocation;
  auto* guard = static_cast<unsigned char*>(base) + bytes - kPage;
  mprotect(guard, kPage, PROT_NONE);
  void* p = guard - used;
  fill_garbage(p, used, ++g_alloc_count);  // cudaMalloc's memory is not zeroed either
  g_allocations[p] = Mapping{base, bytes};
  *ptr = p;
  return cudaSuccess;
}

cudaError_t release(void* p) {
  if (!p) return cudaSuccess;
  const auto it = g_allocations.find(p);
  if (it == g_allocations.end()) return cudaErrorInvalidValue;
  munmap(it->second.base, it->second.bytes);
  g_allocations.erase(it);
  return cudaSuccess;
}

struct Event {
  std::chrono::steady_clock::time_point at;
};

}  // namespace
}  // namespace merino_emu

using namespace merino_emu;

extern "C" {

cudaError_t cudaMalloc(void** devPtr, size_t size) { return allocate(devPtr, size); }
cudaError_t cudaMallocAsync(void** devPtr, size_t size, cudaStream_t) {
  return allocate(devPtr, size);
}
cudaError_t cudaFree(void* devPtr) { return release(devPtr); }
cudaError_t cudaFreeAsync(void* devPtr, cudaStream_t) { return release(devPtr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind) {
  if (count) memmove(dst, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t) {
  return cudaMemcpy(dst, src, count, kind);
}
cudaError_t cudaMemset(void* devPtr, int value, size_t count) {
  if (count) memset(devPtr, value, count);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t) {
  return cudaMemset(devPtr, value, count);
}
cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  *total = size_t(80) << 30;
  *free = *total;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  *stream = reinterpret_cast<cudaStream_t>(new char);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  return cudaStreamCreate(stream);
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete reinterpret_cast<char*>(stream);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = reinterpret_cast<cudaEvent_t>(new Event{std::chrono::steady_clock::now()});
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  reinterpret_cast<Event*>(event)->at = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  *ms = std::chrono::duration<float, std::milli>(reinterpret_cast<Event*>(end)->at -
                                                 reinterpret_cast<Event*>(start)->at)
            .count();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete reinterpret_cast<Event*>(event);
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  *prop = cudaDeviceProp{};
  strncpy(prop->name, "merino CUDA emulator (sm_90-like)", sizeof prop->name - 1);
  prop->major = 9;
  prop->minor = 0;
  prop->totalGlobalMem = size_t(80) << 30;
  prop->multiProcessorCount = kMultiprocessors;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = kMaxThreadsPerBlock;
  prop->maxThreadsPerMultiProcessor = 2048;
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = kMaxBlockDim[i];
    prop->maxGridSize[i] = int(kMaxGridDim[i]);
  }
  prop->sharedMemPerBlock = kSharedPerBlock;
  prop->sharedMemPerBlockOptin = kSharedPerBlockOptin;
  prop->sharedMemPerMultiprocessor = kSharedPerMultiprocessor;
  prop->regsPerBlock = 65536;
  prop->regsPerMultiprocessor = 65536;
  prop->l2CacheSize = 50 << 20;
  prop->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  switch (attr) {
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(kSharedPerBlockOptin); break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(kSharedPerBlock); break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = int(kSharedPerMultiprocessor); break;
    case cudaDevAttrMultiProcessorCount: *value = kMultiprocessors; break;
    case cudaDevAttrMaxThreadsPerBlock: *value = kMaxThreadsPerBlock; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: return cudaErrorInvalidValue;  // not emulated: visible, never a made-up value
  }
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
  if (value < 0 || size_t(value) > kSharedPerBlockOptin) return cudaErrorInvalidValue;
  set_max_dynamic_shared(func, size_t(value));
  return cudaSuccess;
}

cudaError_t cudaGetLastError(void) { return take_last_error(); }
cudaError_t cudaPeekAtLastError(void) { return peek_last_error(); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "unknown error";
  }
}

}  // extern "C"

// A backend's memory, planned before the first allocation. A training run knows at start every
// buffer it will hold (parameters, master weights, gradients, optimizer state, activations for
// its batch shape, the kernels' workspaces), so it takes them as one block sized then
// (reserve()) and hands out ranges of it: nothing is allocated from the device during steps,
// memory cannot fragment, and a run that does not fit fails before the first step with the
// sizes in the message, not with an out-of-memory error minutes in.
//   Arena:        which ranges of the block are in use (offsets only, no memory of its own).
//   MemoryPlan:   what a run will allocate, by part, before it allocates.
//   DeviceMemory: a backend's allocations: from the reserved block, or each from the device on
//                 its own (before a reserve(), as tests do, or when the block cannot hold one --
//                 counted, so that a plan missing a buffer shows in the report instead of failing).
// Used by the CPU backend (host memory) and the CUDA backend alike, so the CPU tests check the
// planning that GPU runs rely on.
#pragma once
#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace merino {

class Arena {
 public:
  // every range starts on this boundary: cudaMalloc's own alignment, so 128-bit vector loads and
  // cuBLASLt's alignment-based algorithm choice see the same pointers as from cudaMalloc
  static constexpr size_t kAlign = 256;
  // bytes rounded up to a multiple of kAlign, and at least kAlign (an empty buffer still gets a
  // distinct address)
  static size_t rounded(size_t bytes) {
    return (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  }

  explicit Arena(size_t capacity);  // capacity is rounded down to kAlign
  // the offset of a free range of rounded(bytes): the smallest free range that
  // holds it, at its start, or nullopt when none does
  std::optional<size_t> take(size_t bytes);
  // frees the range that take() returned at `offset`, merging it with free neighbours; throws
  // std::invalid_argument for an offset not taken
  void give_back(size_t offset);

  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }
  size_t peak() const { return peak_; }

 private:
  size_t capacity_, used_ = 0, peak_ = 0;
  std::map<size_t, size_t> free_;   // offset -> size, never two adjacent
  std::map<size_t, size_t> taken_;  // offset -> size
};

struct MemoryPlan {
  struct Part {
    std::string what;
    size_t bytes;
  };
  std::vector<Part> parts;  // in the order added; bytes are rounded as the arena rounds them
  // the largest shapes the ops will see, for the backend's own workspaces
  int batch = 0, seq_len = 0, width = 0, heads = 0;

  // one buffer of `bytes`, charged to part `what` (created on first use)
  void add(const std::string& what, size_t bytes);
  size_t total() const;
  // "parameters 474.7 MiB, gradients 474.7 MiB, ..."
  std::string describe() const;
};

// 1234567 -> "1.2 MiB"
std::string mebibytes(size_t bytes);

// What a backend has held: `reserved` bytes taken at once by reserve(), `peak` the most bytes
// in use at one time (inside and outside the block), `outside_peak` the most held at one time by
// allocations the block could not hold, `workspace` fixed workspaces outside both (cuBLASLt's).
struct MemoryUse {
  size_t reserved = 0, peak = 0, outside_peak = 0, workspace = 0;
};

class DeviceMemory {
 public:
  // raw_alloc(bytes) returns memory aligned to Arena::kAlign or throws; raw_free(nullptr) is a no-op
  DeviceMemory(std::function<void*(size_t)> raw_alloc, std::function<void(void*)> raw_free);
  ~DeviceMemory();
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  // takes one block of `bytes`; later allocations come from it. Only once per backend: throws
  // std::logic_error on a second call.
  void reserve(size_t bytes);
  void* alloc(size_t bytes);  // not zeroed
  // throws std::invalid_argument for a pointer not from alloc()
  void release(void* p);
  MemoryUse use() const;

 private:
  std::function<void*(size_t)> raw_alloc_;
  std::function<void(void*)> raw_free_;
  char* block_ = nullptr;
  Arena arena_{0};
  std::map<void*, size_t> outside_;  // allocations made on their own
  size_t outside_live_ = 0, outside_peak_ = 0, peak_ = 0;
};

}  // namespace merino

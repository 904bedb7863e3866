#include "kernels/cpu/host_memory.h"

#include <sys/resource.h>

#include <fstream>
#include <new>
#include <sstream>

#include "base/errors.h"

namespace merino {
namespace {

// A number of bytes from a one-value cgroup file; nullopt for "max" or no such file.
std::optional<size_t> cgroup_bytes(const char* path) {
  std::ifstream in(path);
  size_t bytes = 0;
  if (in >> bytes) return bytes;
  return std::nullopt;
}

// "the address-space limit (ulimit -v) is N MiB", or "" when there is none
std::string address_space_limit() {
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return "";
  return "the address-space limit (ulimit -v) is " + mebibytes(size_t(as.rlim_cur));
}

}  // namespace

std::optional<size_t> available_host_memory() {
  std::optional<size_t> available;
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (!available && std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    size_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") available = kib * 1024;
  }
  const std::optional<size_t> limit = cgroup_bytes("/sys/fs/cgroup/memory.max");
  const std::optional<size_t> used = cgroup_bytes("/sys/fs/cgroup/memory.current");
  if (limit && used) {
    const size_t left = *limit > *used ? *limit - *used : 0;
    if (!available || left < *available) available = left;
  }
  return available;
}

void reserve_host_block(DeviceMemory& mem, const MemoryPlan& plan, const std::string& backend_name) {
  const std::string needs =
      backend_name + ": the run needs " + mebibytes(plan.total()) + " of memory (" + plan.describe() + ")";
  const std::optional<size_t> available = available_host_memory();
  if (available && plan.total() > *available)
    throw EnvironmentError(needs + ", but " + mebibytes(*available) + " are available");
  try {
    mem.reserve(plan.total());  // the CPU kernels keep no workspace of their own
  } catch (const std::bad_alloc&) {
    const std::string limit = address_space_limit();
    throw EnvironmentError(needs + ", and the allocation failed (" +
                           (limit.empty() ? "memory is exhausted" : limit) + ")");
  }
}

}  // namespace merino

#include "eval/eval_model.h"

#include <sys/resource.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "base/errors.h"

namespace merino::eval {
namespace {

// A number of bytes from a one-value cgroup file; nullopt for "max" or no such file.
std::optional<size_t> cgroup_bytes(const char* path) {
  std::ifstream in(path);
  size_t bytes = 0;
  if (in >> bytes) return bytes;
  return std::nullopt;
}

// The kernel's estimate of memory a process can take without swapping (MemAvailable), or less
// when a container's cgroup (v2) limit leaves less; nullopt when neither is known.
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

// "the address-space limit (ulimit -v) is N MiB", or "" when there is none
std::string address_space_limit() {
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return "";
  return "the address-space limit (ulimit -v) is " + mebibytes(size_t(as.rlim_cur));
}

std::string needs(int batch, const ModelConfig& cfg, const MemoryPlan& plan,
                  const std::string& where) {
  return "--batch " + std::to_string(batch) + ": scoring " + std::to_string(batch) + " x " +
         std::to_string(cfg.context_length) + " tokens per forward pass needs " +
         mebibytes(plan.total()) + " on " + where + " (" + plan.describe() + ")";
}

// The host's memory is refused up front: the block is written as it is handed out, so a plan
// beyond what is available would be met by swapping or the OOM killer rather than an error.
void reserve_host(Backend<float>& be, int batch, const ModelConfig& cfg, const MemoryPlan& plan) {
  const std::string advice = "; lower --batch";
  const std::optional<size_t> available = available_host_memory();
  if (available && plan.total() > *available)
    throw EnvironmentError(needs(batch, cfg, plan, be.name()) + ", but " + mebibytes(*available) +
                           " of memory is available" + advice);
  try {
    be.reserve(plan);
  } catch (const std::bad_alloc&) {
    const std::string limit = address_space_limit();
    throw EnvironmentError(needs(batch, cfg, plan, be.name()) + ", and the allocation failed (" +
                           (limit.empty() ? "memory is exhausted" : limit) + ")" + advice);
  }
}

}  // namespace

EvalModel load_eval_model(const LoadedCheckpoint& ckpt, const std::string& device, int batch) {
  EvalModel m{make_device_backend<float>(device, 0), nullptr};
  const int L = ckpt.config.context_length;
  const MemoryPlan plan = Model<float>::memory_plan(ckpt.config, batch, L);
  if (device == "cpu") {
    reserve_host(*m.device.backend, batch, ckpt.config, plan);
  } else {
    try {
      m.device.backend->reserve(plan);
    } catch (const EnvironmentError& e) {  // the CUDA backend names its plan and the free memory
      throw EnvironmentError("--batch " + std::to_string(batch) + ": " + e.what() +
                             "; lower --batch");
    }
  }
  m.model = std::make_unique<Model<float>>(ckpt.config, *m.device.backend);
  m.model->set_params(ckpt.params);
  return m;
}

}  // namespace merino::eval

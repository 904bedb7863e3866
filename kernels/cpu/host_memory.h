// The CPU backend's one block of planned memory, refused up front when the host cannot hold
// it: the block is zero-filled as it is handed out, so a plan beyond what is available would
// be met by swapping or the OOM killer rather than an error the caller can turn into advice.
#pragma once
#include <optional>
#include <string>

#include "kernels/device_memory.h"

namespace merino {

// The kernel's estimate of memory a process can take without swapping (MemAvailable), or less
// when a container's cgroup (v2) limit leaves less; nullopt when neither is known.
std::optional<size_t> available_host_memory();

// Reserves `plan` in `mem`. EnvironmentError, one line naming `backend_name`, the plan and
// what the host has, when it is more than is available or the allocation fails (a memory
// limit, `ulimit -v`); the caller adds what to lower.
void reserve_host_block(DeviceMemory& mem, const MemoryPlan& plan, const std::string& backend_name);

}  // namespace merino

#include "train/distributed/launch_env.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "base/errors.h"

namespace merino {
namespace {

struct Names {
  const char* launcher;
  const char* rank;
  const char* world;
  const char* local_rank;
};

constexpr Names kLaunchers[] = {
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
};

}  // namespace

long parse_env_int(const char* name, const char* text, long lo, long hi) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi)
    throw ConfigError(std::string("environment: ") + name + "=" + text + ": expected an integer in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

double env_seconds(const EnvLookup& getenv_fn, const char* name, double fallback) {
  const char* text = getenv_fn(name);
  if (!text) return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v <= 0)
    throw ConfigError(std::string("environment: ") + name + "=" + text + ": expected a number of seconds > 0");
  return v;
}

LaunchEnv discover_launch_env(const EnvLookup& getenv_fn) {
  constexpr long kMaxWorld = std::numeric_limits<int>::max();
  for (const Names& n : kLaunchers) {
    const char* rank = getenv_fn(n.rank);
    const char* world = getenv_fn(n.world);
    if (!rank && !world) continue;
    if (!rank || !world)
      throw ConfigError(std::string("environment: ") + (rank ? n.rank : n.world) + " is set but " +
                        (rank ? n.world : n.rank) + " is not");
    LaunchEnv e;
    e.launcher = n.launcher;
    e.world = int(parse_env_int(n.world, world, 1, kMaxWorld));
    e.rank = int(parse_env_int(n.rank, rank, 0, e.world - 1));
    if (const char* local = getenv_fn(n.local_rank)) {
      e.local_rank = int(parse_env_int(n.local_rank, local, 0, e.world - 1));
    } else if (e.world > 1 && e.launcher != "pmi") {
      // MPICH's PMI does not always export a local rank; the others always do
      throw ConfigError(std::string("environment: ") + n.rank + " is set but " + n.local_rank + " is not");
    }
    if (e.launcher == "torchrun") {
      const char* addr = getenv_fn("MASTER_ADDR");
      const char* port = getenv_fn("MASTER_PORT");
      if (e.world > 1 && (!addr || !port))
        throw ConfigError("environment: WORLD_SIZE > 1 needs MASTER_ADDR and MASTER_PORT");
      if (addr) e.master_addr = addr;
      if (port) e.master_port = int(parse_env_int("MASTER_PORT", port, 1, 65535));
    }
    return e;
  }
  return LaunchEnv{};
}

LaunchEnv discover_launch_env() {
  return discover_launch_env([](const char* name) { return std::getenv(name); });
}

}  // namespace merino

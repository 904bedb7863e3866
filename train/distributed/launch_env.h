// Which process of a job this is: rank, world size and local rank (the GPU to use on its node),
// read from the launcher's environment. Recognised launchers, first match wins:
//   mpirun (Open MPI)   OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK
//   PMI (MPICH, srun --mpi=pmi2)  PMI_RANK / PMI_SIZE, MPI_LOCALRANKID
//   srun (SLURM)        SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID
//   torchrun style      RANK / WORLD_SIZE / LOCAL_RANK, with MASTER_ADDR / MASTER_PORT
// None of them: a single process (rank 0 of 1).
#pragma once
#include <functional>
#include <string>

namespace merino {

struct LaunchEnv {
  std::string launcher = "single";  // "mpirun", "pmi", "slurm", "torchrun" or "single"
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string master_addr;  // torchrun style only
  int master_port = 0;
  // true when the processes were started by an MPI launcher, so MPI can connect them
  bool mpi_launched() const { return launcher == "mpirun" || launcher == "pmi"; }
};

using EnvLookup = std::function<const char*(const char*)>;

// Throws ConfigError naming the variable when a value is malformed or inconsistent
// (rank outside [0, world), a missing partner variable, a port outside 1..65535).
LaunchEnv discover_launch_env(const EnvLookup& getenv_fn);
LaunchEnv discover_launch_env();  // from the process environment

// `text`, the value of variable `name`, as an integer in [lo, hi]; ConfigError naming the
// variable otherwise (the same message as for the launchers' variables).
long parse_env_int(const char* name, const char* text, long lo, long hi);
// A duration from variable `name` in seconds (a number > 0), or `fallback` when it is unset;
// ConfigError naming the variable when it is malformed.
double env_seconds(const EnvLookup& getenv_fn, const char* name, double fallback);

}  // namespace merino

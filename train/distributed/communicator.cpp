#include "train/distributed/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "base/errors.h"

namespace merino {

#ifdef MERINO_HAVE_MPI
std::unique_ptr<Communicator> make_mpi_communicator(const LaunchEnv& env);  // mpi_communicator.cpp
bool have_mpi() { return true; }
#else
bool have_mpi() { return false; }
#endif
#ifdef MERINO_HAVE_NCCL
std::unique_ptr<Communicator> make_nccl_communicator(const LaunchEnv& env,  // nccl_communicator.cpp
                                                     const std::string& run_dir);
bool have_nccl() { return true; }
#else
bool have_nccl() { return false; }
#endif

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string transport() const override { return "none (1 process)"; }
  void all_reduce_sum(float*, size_t) override {}
  void all_reduce_sum(double*, size_t) override {}
  void start_all_reduce_sum(float*, size_t) override {}
  void progress() override {}
  void wait_all() override {}
  void reduce_scatter_sum(const float* in, float* shard, const std::vector<size_t>& counts) override {
    std::copy(in, in + counts[0], shard);
  }
  void all_gather(float*, const std::vector<size_t>&) override {}
  void gather(const float* shard, float* out, const std::vector<size_t>& counts) override {
    std::copy(shard, shard + counts[0], out);
  }
  std::string broadcast(const std::string& value) override { return value; }
  void barrier() override {}

 protected:
  void abort_others(int) override {}
};

}  // namespace

void Communicator::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  abort_others(code);
  std::_Exit(code);
}

std::vector<size_t> shard_counts(size_t n, int world) {
  std::vector<size_t> counts(size_t(world), n / size_t(world));
  for (size_t r = 0; r < n % size_t(world); ++r) ++counts[r];
  return counts;
}

size_t shard_offset(const std::vector<size_t>& counts, int rank) {
  return std::accumulate(counts.begin(), counts.begin() + rank, size_t(0));
}

std::unique_ptr<Communicator> make_communicator(const LaunchEnv& env, const std::string& device,
                                                const std::string& run_dir) {
  // one process needs no transport (the trainer skips ZeRO-1 sharding with one rank, the only
  // use of the single-process copies, which could not handle device buffers)
  if (env.world == 1) return std::make_unique<SingleProcess>();
  if (device == "cuda") {
#ifdef MERINO_HAVE_NCCL
    return make_nccl_communicator(env, run_dir);
#else
    (void)run_dir;
    throw ConfigError("environment: " + env.launcher + " started " + std::to_string(env.world) +
                      " processes, but this merino was built without NCCL, which data parallelism on "
                      "run.device: cuda needs (install NCCL and reconfigure; docs/DISTRIBUTED.md)");
#endif
  }
#ifdef MERINO_HAVE_MPI
  if (env.mpi_launched() || env.launcher == "slurm") return make_mpi_communicator(env);
#endif
#ifdef MERINO_HAVE_MPI
  throw ConfigError("environment: " + env.launcher + " started " + std::to_string(env.world) +
                    " processes, but the CPU backend exchanges gradients through MPI: launch with "
                    "mpirun, or srun --mpi=pmix (run.device: cuda connects through NCCL instead; "
                    "docs/DISTRIBUTED.md)");
#else
  throw ConfigError("environment: " + env.launcher + " started " + std::to_string(env.world) +
                    " processes, but this merino was built without MPI (install libopenmpi-dev and "
                    "rebuild; docs/DISTRIBUTED.md)");
#endif
}

}  // namespace merino

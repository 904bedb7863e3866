// The pieces of data parallelism that need no second process: launcher discovery from the
// environment, the transport each launch gets, the ZeRO-1 shard split, and gradient bucketing
// (against a recording communicator). The multi-process behaviour is tested end to end under
// mpirun by distributed_e2e.sh; the NCCL id's rendezvous in test_rendezvous.cpp.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "train/distributed/communicator.h"
#include "train/distributed/grad_sync.h"
#include "train/distributed/launch_env.h"

namespace {

using merino::LaunchEnv;

LaunchEnv from(const std::map<std::string, std::string>& env) {
  return merino::discover_launch_env([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& env) {
  try {
    from(env);
  } catch (const merino::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(distributed_env, EachLauncher) {
  LaunchEnv e = from({});
  EXPECT_EQ(e.launcher, "single");
  EXPECT_EQ(e.world, 1);

  e = from({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(e.launcher, "mpirun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_TRUE(e.mpi_launched());

  e = from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "5"}});
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_FALSE(e.mpi_launched());

  e = from({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.master_addr, "node7");
  EXPECT_EQ(e.master_port, 29500);

  // mpirun inside a SLURM allocation: the MPI launcher's own variables win
  e = from({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
            {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_LOCALID", "0"}});
  EXPECT_EQ(e.launcher, "mpirun");
  EXPECT_EQ(e.world, 2);
}

TEST(distributed_env, BadValuesNameTheVariable) {
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}})
                .find("RANK=2: expected an integer in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}}).find("SLURM_PROCID is set but SLURM_NTASKS is not"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}}).find("MASTER_ADDR and MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2x"}, {"LOCAL_RANK", "0"}}).find("WORLD_SIZE=2x"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "a"},
                      {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT=70000"),
            std::string::npos);
}

TEST(distributed_env, MultiProcessWithoutMpiIsRefused) {
  const LaunchEnv e = from({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "a"},
                            {"MASTER_PORT", "29500"}});
  try {
    merino::make_communicator(e, "cpu", "/tmp/unused");
    FAIL() << "a torchrun-style launch of the CPU backend must be refused";
  } catch (const merino::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("torchrun started 2 processes, but the CPU backend exchanges "
                                           "gradients through MPI"),
              std::string::npos)
        << err.what();
  }
}

// On run.device: cuda the same launch connects through NCCL, with the TCP rendezvous. Rank 1 of
// an unknown host fails at once either way: without a GPU at the device check, with one at the
// rendezvous; never with the CPU backend's refusal.
TEST(distributed_env, MultiProcessOnCudaGoesToNccl) {
  const LaunchEnv e = from({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"},
                            {"MASTER_ADDR", "no-such-host.invalid"}, {"MASTER_PORT", "29500"}});
  std::string error = "(no error)";
  try {
    merino::make_communicator(e, "cuda", "/tmp/unused");
  } catch (const std::exception& err) {
    error = err.what();
  }
  if (merino::have_nccl()) {
    EXPECT_EQ(error.find("CPU backend"), std::string::npos) << error;
    EXPECT_TRUE(error.find("run.device: cuda") != std::string::npos ||
                error.find("TCP rendezvous on no-such-host.invalid:29500") != std::string::npos)
        << error;
  } else {
    EXPECT_NE(error.find("built without"), std::string::npos) << error;
  }
}

TEST(distributed_shards, SplitCoversEverythingOnce) {
  for (size_t n : {0ul, 1ul, 7ul, 1000ul, 124439808ul})
    for (int world : {1, 2, 3, 8}) {
      const std::vector<size_t> c = merino::shard_counts(n, world);
      ASSERT_EQ(c.size(), size_t(world));
      EXPECT_EQ(std::accumulate(c.begin(), c.end(), size_t(0)), n);
      EXPECT_LE(c.front() - c.back(), 1u);
      EXPECT_EQ(merino::shard_offset(c, world - 1) + c.back(), n);
    }
}

// Records the reductions a GradSync starts, and checks that nothing is started twice.
class Recorder final : public merino::Communicator {
 public:
  std::vector<std::pair<size_t, size_t>> started;  // (offset from base, count)
  const float* base = nullptr;
  int waits = 0;
  int rank() const override { return 0; }
  int world() const override { return 2; }
  int local_rank() const override { return 0; }
  std::string transport() const override { return "recorder"; }
  void all_reduce_sum(float*, size_t) override {}
  void all_reduce_sum(double*, size_t) override {}
  void start_all_reduce_sum(float* data, size_t n) override { started.emplace_back(size_t(data - base), n); }
  void progress() override {}
  void wait_all() override { ++waits; }
  void reduce_scatter_sum(const float*, float*, const std::vector<size_t>&) override {}
  void all_gather(float*, const std::vector<size_t>&) override {}
  void gather(const float*, float*, const std::vector<size_t>&) override {}
  std::string broadcast(const std::string& v) override { return v; }
  void barrier() override {}

 protected:
  void abort_others(int) override {}
};

TEST(distributed_buckets, MergeAdjacentRangesAndFlushAtSize) {
  std::vector<float> grads(100);
  Recorder rec;
  rec.base = grads.data();
  merino::GradSync sync(rec, grads.data(), 30 * sizeof(float));
  sync.ready(90, 10);  // backward order: top of the buffer first
  sync.ready(80, 10);
  sync.ready(70, 10);  // 30 elements: bucket [70, 100) starts
  sync.ready(60, 5);
  sync.ready(40, 10);  // not adjacent to [60, 65): [60, 65) starts alone
  sync.ready(0, 40);   // adjacent below: [0, 50) reaches the size
  sync.ready(65, 5);   // a late range on its own (the embedding table at the end)
  sync.finish();
  const std::vector<std::pair<size_t, size_t>> expect = {{70, 30}, {60, 5}, {0, 50}, {65, 5}};
  EXPECT_EQ(rec.started, expect);
  EXPECT_EQ(rec.waits, 1);
  EXPECT_EQ(sync.buckets_started(), 4u);
}

}  // namespace

// The NCCL communicator (train/distributed/nccl_communicator.cpp) on device buffers; label gpu,
// SKIPPED without a device. Every collective of the Communicator interface is checked against sums
// computed here: on one GPU as a world of 1 (the unique id stays in the process), and with two
// GPUs as two processes joined by the TCP rendezvous, with an odd length so that ZeRO-1's
// shards differ by one element (the staged path, in two rounds) and an even one (NCCL's own
// reduce-scatter / all-gather). The inputs are uploaded asynchronously on a compute stream
// right before each collective, which must wait for them.
#include <arpa/inet.h>
#include <cuda_runtime.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cuda/cuda_check.cuh"
#include "train/distributed/communicator.h"
#include "train/distributed/launch_env.h"

namespace {

// 12M + 1 elements: two rounds of the 64 MiB staging for 2 ranks, and the gather in chunks
constexpr size_t kSizes[] = {12000001, 1000002};

float value(int rank, size_t i) { return float(i % 1000) + 0.5f * float(rank); }  // sums are exact
float gathered(size_t i) { return float(i % 977) + 0.25f; }

std::string mismatch(const char* what, const std::vector<float>& got, size_t offset, float (*expect)(size_t, int),
                     int world) {
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != expect(offset + i, world))
      return std::string(what) + ": element " + std::to_string(offset + i) + " is " + std::to_string(got[i]) +
             ", expected " + std::to_string(expect(offset + i, world));
  return "";
}

float summed(size_t i, int world) {
  float s = 0;
  for (int r = 0; r < world; ++r) s += value(r, i);
  return s;
}
float gathered_any(size_t i, int) { return gathered(i); }

// Every collective on n floats as rank comm.rank() of comm.world(): "" or the first error.
std::string check_collectives(merino::Communicator& comm, size_t n) {
  const int world = comm.world(), me = comm.rank();
  const std::vector<size_t> counts = merino::shard_counts(n, world);
  const size_t mine = counts[size_t(me)], at = merino::shard_offset(counts, me);
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  comm.set_compute_stream(s);
  float *pinned = nullptr, *d = nullptr, *shard = nullptr;
  CUDA_CHECK(cudaMallocHost(&pinned, n * sizeof(float)));  // so that uploads are truly asynchronous
  CUDA_CHECK(cudaMalloc(&d, n * sizeof(float)));
  CUDA_CHECK(cudaMalloc(&shard, n * sizeof(float)));
  const auto upload = [&](float* dst, size_t count, auto fill) {
    for (size_t i = 0; i < count; ++i) pinned[i] = fill(i);
    CUDA_CHECK(cudaMemcpyAsync(dst, pinned, count * sizeof(float), cudaMemcpyHostToDevice, s));
  };
  const auto download = [&](const float* src, size_t count) {
    std::vector<float> out(count);
    CUDA_CHECK(cudaMemcpyAsync(out.data(), src, count * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    return out;
  };
  const auto mine_value = [&](size_t i) { return value(me, i); };
  // every rank makes every call, whatever it found wrong, so that none waits for a missing peer
  std::string err;
  const auto note = [&](const std::string& found) {
    if (err.empty()) err = found;
  };

  upload(d, n, mine_value);
  comm.all_reduce_sum(d, n);
  note(mismatch("all-reduce", download(d, n), 0, summed, world));

  // three buckets, the way GradSync starts them: the top of the buffer first
  upload(d, n, mine_value);
  comm.start_all_reduce_sum(d + n / 2, n - n / 2);
  comm.progress();
  comm.start_all_reduce_sum(d + n / 3, n / 2 - n / 3);
  comm.start_all_reduce_sum(d, n / 3);
  comm.progress();
  comm.wait_all();
  note(mismatch("bucketed all-reduce", download(d, n), 0, summed, world));

  upload(d, n, mine_value);
  comm.reduce_scatter_sum(d, shard, counts);
  note(mismatch("reduce-scatter", download(shard, mine), at, summed, world));

  // only this rank's shard is set beforehand
  upload(d, n, [&](size_t i) { return i >= at && i < at + mine ? gathered(i) : -1.0f; });
  comm.all_gather(d, counts);
  note(mismatch("all-gather", download(d, n), 0, gathered_any, world));

  upload(shard, mine, [&](size_t i) { return gathered(at + i); });
  std::vector<float> out(me == 0 ? n : 0, -1.0f);
  comm.gather(shard, me == 0 ? out.data() : nullptr, counts);
  note(mismatch("gather", out, 0, gathered_any, world));

  double x[3] = {1.5 * (me + 1), double(me), 0.25};
  comm.all_reduce_sum(x, 3);
  const double w = world;
  if (x[0] != 1.5 * w * (w + 1) / 2 || x[1] != w * (w - 1) / 2 || x[2] != 0.25 * w)
    note("all-reduce of doubles: " + std::to_string(x[0]) + " " + std::to_string(x[1]) + " " + std::to_string(x[2]));

  std::string text(5 << 20, '\0');  // longer than one staging chunk (4 MiB)
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + i % 23);
  if (comm.broadcast(me == 0 ? text : "not rank 0's") != text) note("broadcast: not rank 0's string");
  if (!comm.broadcast("").empty()) note("broadcast: the empty string did not stay empty");
  comm.barrier();
  CUDA_CHECK(cudaFreeHost(pinned));
  CUDA_CHECK(cudaFree(d));
  CUDA_CHECK(cudaFree(shard));
  CUDA_CHECK(cudaStreamDestroy(s));
  return err;
}

// One rank of the two-process test: its exit code.
int run_rank(int rank, int port) {
  try {
    merino::LaunchEnv env;
    env.launcher = "torchrun";
    env.rank = rank;
    env.world = 2;
    env.local_rank = rank;
    env.master_addr = "127.0.0.1";
    env.master_port = port;
    ::setenv("MERINO_NCCL_TIMEOUT_S", "60", 1);  // a rank that failed ends the other's wait sooner
    const auto comm = merino::make_communicator(env, "cuda", "/tmp/unused");
    for (size_t n : kSizes) {
      const std::string err = check_collectives(*comm, n);
      if (!err.empty()) {
        std::fprintf(stderr, "rank %d, n = %zu: %s\n", rank, n, err.c_str());
        return 1;
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    return 1;
  }
}

// Asked in a child process, so that this one has not started CUDA when it forks the ranks.
int visible_gpus() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
    ::_exit(std::min(n, 100));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// First in this file: a process forked after CUDA started cannot use CUDA, so this test must run
// before any other test of the same process touches the GPU (ctest runs each test on its own).
TEST(distributed_nccl, TwoProcessesOnTwoGpus) {
  const int gpus = visible_gpus();
  if (gpus < 2) GTEST_SKIP() << "needs 2 CUDA devices, " << gpus << " visible";
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(run_rank(r, port));
    pids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  for (int r = 0; r < 2; ++r) {
    int status = 0;
    while (::waitpid(pids[size_t(r)], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (pid_t p : pids) ::kill(p, SIGKILL);
        ::waitpid(pids[size_t(r)], &status, 0);
        FAIL() << "rank " << r << " still runs after 3 minutes";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank " << r << " failed (its stderr is above)";
  }
}

TEST(distributed_nccl, OneRankOnOneGpu) {
  std::string why;
  if (!merino::cuda::cuda_device_available(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  const merino::LaunchEnv single;  // rank 0 of 1
  const auto comm = merino::make_communicator(single, "cuda", "/tmp/unused");
  EXPECT_EQ(comm->transport().rfind("NCCL ", 0), 0u) << comm->transport();
  EXPECT_EQ(comm->world(), 1);
  for (size_t n : kSizes) EXPECT_EQ(check_collectives(*comm, n), "") << "n = " << n;
}

}  // namespace

// Communicator over NCCL for the CUDA backend: every float buffer is device memory on this
// rank's GPU (device = local rank). Collectives run on a communication stream of their own;
// each first waits (cudaStreamWaitEvent) for the work queued so far on the compute stream, the
// CudaBackend's, so a gradient bucket's all-reduce runs while the backward pass goes on with
// earlier layers. Host data (the trainer's loss / stop / norm doubles, broadcast strings,
// gather's output) goes through pinned and device staging buffers.
//
// Waiting. Blocking calls and wait_all() wait on the host for the communication stream, polling
// ncclCommGetAsyncError, with a deadline of MERINO_NCCL_TIMEOUT_S (600 s): the compute stream
// never waits on NCCL work, so nothing else can hang on it. NCCL by itself never times out: a
// peer that dies is reported as an asynchronous error only where a network connection breaks
// (sockets, InfiniBand), and not at all over NVLink or shared memory, while this rank's kernels
// keep spinning. So on an error or at the deadline the communicator aborts itself
// (ncclCommAbort stops those kernels, which lets the trainer unwind) and throws; `merino train`
// then reports it and ends the job: MPI_Abort when MPI started it, otherwise its own exit, which
// the launcher (srun --kill-on-bad-exit, torchrun) or the other ranks' NCCL errors and
// timeouts turn into the end of every rank. This is what PyTorch's NCCL watchdog
// (TORCH_NCCL_ASYNC_ERROR_HANDLING) does from a thread of its own.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/errors.h"
#include "kernels/cuda/cuda_check.cuh"
#include "train/distributed/communicator.h"
#include "train/distributed/rendezvous.h"
#include "train/distributed/staged_shards.h"

namespace merino {

#ifdef MERINO_HAVE_MPI
std::unique_ptr<Communicator> make_mpi_communicator(const LaunchEnv& env);  // mpi_communicator.cpp
#endif

namespace {

using Clock = std::chrono::steady_clock;

// Host transfers go through pinned buffers of this size: a copy to pageable memory would block
// the host inside CUDA, out of the timeout's reach. A multiple of 8, so no double straddles two.
constexpr size_t kHostChunk = size_t(4) << 20;
// Staging for shards of unequal length (staged_shards.h), at most.
constexpr size_t kShardStaging = size_t(64) << 20;

std::string seconds(double s) {
  std::ostringstream out;
  out << s << " s";
  return out.str();
}

std::string nccl_error(ncclResult_t rc) {
  std::string out = ncclGetErrorString(rc);
  std::string detail = ncclGetLastError(nullptr);  // the argument is unused by NCCL
  std::replace(detail.begin(), detail.end(), '\n', ' ');
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

// Device or pinned host memory that grows to the largest request. Every collective that uses it
// waits for its work before returning, so nothing queued still uses the old buffer.
class Staging {
 public:
  explicit Staging(bool host) : host_(host) {}
  ~Staging() { release(); }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  void* get(size_t bytes) {
    if (bytes <= bytes_) return p_;
    release();
    if (host_) CUDA_CHECK(cudaMallocHost(&p_, bytes));
    else CUDA_CHECK(cudaMalloc(&p_, bytes));
    bytes_ = bytes;
    return p_;
  }

 private:
  void release() {
    if (host_) cudaFreeHost(p_);
    else cudaFree(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  const bool host_;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

bool all_equal(const std::vector<size_t>& counts) {
  return std::all_of(counts.begin(), counts.end(), [&](size_t c) { return c == counts[0]; });
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const ncclUniqueId& id, const LaunchEnv& env, double timeout_s,
                   std::unique_ptr<Communicator> bootstrap)
      : bootstrap_(std::move(bootstrap)),
        rank_(env.rank),
        world_(env.world),
        local_rank_(env.local_rank),
        timeout_s_(timeout_s) {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&comm_done_, cudaEventDisableTiming));
    int pitch = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&pitch, cudaDevAttrMaxPitch, local_rank_));
    max_pitch_ = size_t(pitch);
    const ncclResult_t rc = ncclCommInitRank(&comm_, world_, id, rank_);
    if (rc != ncclSuccess) {
      comm_ = nullptr;
      throw std::runtime_error("NCCL init of rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
                               ": " + nccl_error(rc));
    }
    int v = 0;
    ncclGetVersion(&v);
    version_ = "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
               std::to_string(v % 100);
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    cudaEventDestroy(compute_done_);
    cudaEventDestroy(comm_done_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  int local_rank() const override { return local_rank_; }
  std::string transport() const override { return version_; }
  void set_compute_stream(void* stream) override { compute_ = static_cast<cudaStream_t>(stream); }

  void all_reduce_sum(float* data, size_t n) override {
    start_all_reduce_sum(data, n);
    finish("all-reduce");
  }
  void all_reduce_sum(double* data, size_t n) override {
    through_host(data, n * sizeof(double), "all-reduce", [&](void* dev, size_t bytes) {
      check(ncclAllReduce(dev, dev, bytes / sizeof(double), ncclDouble, ncclSum, comm_, stream_), "all-reduce");
    });
  }
  void start_all_reduce_sum(float* data, size_t n) override {
    after_compute();
    check(ncclAllReduce(data, data, n, ncclFloat, ncclSum, comm_, stream_), "all-reduce");
    pending_ = true;
  }
  void progress() override {
    if (pending_) check_async("all-reduce");
  }
  void wait_all() override {
    if (pending_) finish("all-reduce");
  }

  void reduce_scatter_sum(const float* in, float* shard, const std::vector<size_t>& counts) override {
    after_compute();
    if (all_equal(counts)) {
      check(ncclReduceScatter(in, shard, counts[0], ncclFloat, ncclSum, comm_, stream_), "reduce-scatter");
    } else {
      size_t round = 0;
      float* stage = shard_staging(counts, &round);
      Ops ops{*this};
      staged_reduce_scatter(ops, in, shard, counts, rank_, stage, round);
    }
    finish("reduce-scatter");
  }
  void all_gather(float* data, const std::vector<size_t>& counts) override {
    after_compute();
    if (all_equal(counts)) {
      // NCCL's in-place form: this rank's piece already sits at its place in the output
      check(ncclAllGather(data + size_t(rank_) * counts[0], data, counts[0], ncclFloat, comm_, stream_),
            "all-gather");
    } else {
      size_t round = 0;
      float* stage = shard_staging(counts, &round);
      Ops ops{*this};
      staged_all_gather(ops, data, counts, rank_, stage, round);
    }
    finish("all-gather");
  }
  // Point to point, one chunk at a time through the pinned buffer: checkpoints are rare, and
  // rank 0 then needs no device memory the size of the whole buffer.
  void gather(const float* shard, float* out, const std::vector<size_t>& counts) override {
    constexpr size_t chunk = kHostChunk / sizeof(float);  // sender and receiver cut alike
    after_compute();
    if (rank_ != 0) {
      const size_t n = counts[size_t(rank_)];
      for (size_t lo = 0; lo < n; lo += chunk)
        check(ncclSend(shard + lo, std::min(chunk, n - lo), ncclFloat, 0, comm_, stream_), "gather");
      finish("gather");
      return;
    }
    float* dev = static_cast<float*>(device_.get(kHostChunk));
    float* host = static_cast<float*>(pinned_.get(kHostChunk));
    size_t at = 0;
    for (int r = 0; r < world_; ++r) {
      const size_t n = counts[size_t(r)];
      for (size_t lo = 0; lo < n; lo += chunk) {
        const size_t len = std::min(chunk, n - lo);
        const float* src = shard + lo;
        if (r > 0) {
          check(ncclRecv(dev, len, ncclFloat, r, comm_, stream_), "gather");
          src = dev;
        }
        CUDA_CHECK(cudaMemcpyAsync(host, src, len * sizeof(float), cudaMemcpyDeviceToHost, stream_));
        finish("gather");
        std::memcpy(out + at + lo, host, len * sizeof(float));
      }
      at += n;
    }
  }
  std::string broadcast(const std::string& value) override {
    const auto from_rank0 = [&](void* dev, size_t bytes) {
      check(ncclBroadcast(dev, dev, bytes, ncclUint8, 0, comm_, stream_), "broadcast");
    };
    uint64_t size = value.size();
    through_host(&size, sizeof size, "broadcast", from_rank0);
    std::string out = rank_ == 0 ? value : std::string(size_t(size), '\0');
    through_host(out.data(), out.size(), "broadcast", from_rank0);
    return out;
  }
  void barrier() override {
    float* dev = static_cast<float*>(device_.get(sizeof(float)));
    check(ncclAllReduce(dev, dev, 1, ncclFloat, ncclSum, comm_, stream_), "barrier");
    finish("barrier");
  }

  void stop_collectives() override { abort_comm(); }

 protected:
  void abort_others(int code) override {
    abort_comm();
    // MPI_Abort ends every rank at once; without MPI the others learn of it from their launcher,
    // a broken NCCL connection or their timeout
    if (bootstrap_) bootstrap_->abort(code);
  }

 private:
  // The device side of staged_shards.h, queued on the communication stream.
  struct Ops {
    NcclCommunicator& c;
    void copy(float* dst, const float* src, size_t n) {
      CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, c.stream_));
    }
    void copy2d(float* dst, size_t dst_pitch, const float* src, size_t src_pitch, size_t width, size_t rows) {
      constexpr size_t f = sizeof(float);
      if (std::max(dst_pitch, src_pitch) * f <= c.max_pitch_) {
        CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch * f, src, src_pitch * f, width * f, rows,
                                     cudaMemcpyDeviceToDevice, c.stream_));
        return;
      }
      // cudaMemcpy2D takes pitches up to cudaDevAttrMaxPitch (2 GiB): longer shards row by row
      for (size_t r = 0; r < rows; ++r) copy(dst + r * dst_pitch, src + r * src_pitch, width);
    }
    void reduce_scatter(const float* slots, float* own, size_t w) {
      c.check(ncclReduceScatter(slots, own, w, ncclFloat, ncclSum, c.comm_, c.stream_), "reduce-scatter");
    }
    void all_gather(const float* own, float* slots, size_t w) {
      c.check(ncclAllGather(own, slots, w, ncclFloat, c.comm_, c.stream_), "all-gather");
    }
  };

  // The staging for shards of unequal length and the round length that fits in it.
  float* shard_staging(const std::vector<size_t>& counts, size_t* round) {
    const size_t longest = *std::max_element(counts.begin(), counts.end());
    const size_t fit = kShardStaging / sizeof(float) / (size_t(world_) + 1);
    *round = std::min(longest, std::max<size_t>(32, fit / 32 * 32));  // 128-byte aligned slots
    return static_cast<float*>(device_.get((size_t(world_) + 1) * *round * sizeof(float)));
  }

  // Runs op(device pointer, bytes) over host memory, chunk by chunk through the staging.
  template <class Op>
  void through_host(void* data, size_t bytes, const char* what, Op op) {
    char* host = static_cast<char*>(data);
    void* pinned = pinned_.get(std::min(bytes, kHostChunk));
    void* dev = device_.get(std::min(bytes, kHostChunk));
    for (size_t lo = 0; lo < bytes; lo += kHostChunk) {
      const size_t len = std::min(kHostChunk, bytes - lo);
      std::memcpy(pinned, host + lo, len);
      CUDA_CHECK(cudaMemcpyAsync(dev, pinned, len, cudaMemcpyHostToDevice, stream_));
      op(dev, len);
      CUDA_CHECK(cudaMemcpyAsync(pinned, dev, len, cudaMemcpyDeviceToHost, stream_));
      finish(what);
      std::memcpy(host + lo, pinned, len);
    }
  }

  void after_compute() {
    CUDA_CHECK(cudaEventRecord(compute_done_, compute_));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, compute_done_, 0));
  }

  // Waits for everything queued on the communication stream (see the top of the file).
  void finish(const char* what) {
    CUDA_CHECK(cudaEventRecord(comm_done_, stream_));
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
    for (;;) {
      const cudaError_t state = cudaEventQuery(comm_done_);
      if (state == cudaSuccess) break;
      if (state != cudaErrorNotReady) fail(std::string(what) + ": CUDA error " + cudaGetErrorString(state));
      check_async(what);
      if (Clock::now() >= deadline)
        fail(std::string(what) + " not finished after " + seconds(timeout_s_) +
             " (MERINO_NCCL_TIMEOUT_S): another rank died, hangs, or calls other collectives");
      std::this_thread::yield();
    }
    pending_ = false;
  }

  void check(ncclResult_t rc, const char* what) {
    if (rc != ncclSuccess) fail(std::string(what) + ": " + nccl_error(rc));
  }
  void check_async(const char* what) {
    ncclResult_t state = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &state), what);
    if (state != ncclSuccess)
      fail(std::string(what) + ": " + nccl_error(state) + ", reported while waiting (a peer failed or the network broke)");
  }
  // NCCL leaves its kernels spinning after an error; aborting stops them, so that the backend's
  // stream synchronizations return while the exception unwinds the trainer.
  [[noreturn]] void fail(const std::string& why) {
    abort_comm();
    throw std::runtime_error("NCCL " + why);
  }
  // ncclCommAbort stops this rank's NCCL kernels, wherever they are; once is enough
  void abort_comm() {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  std::unique_ptr<Communicator> bootstrap_;  // the MPI communicator of an MPI rendezvous, or null
  const int rank_, world_, local_rank_;
  const double timeout_s_;
  std::string version_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;   // the communication stream
  cudaStream_t compute_ = nullptr;  // the backend's; until set, the legacy default stream
  cudaEvent_t compute_done_ = nullptr, comm_done_ = nullptr;
  size_t max_pitch_ = 0;
  bool pending_ = false;  // started all-reduces not yet waited for
  Staging device_{false}, pinned_{true};
};

// CUDA device `local_rank`, made current before NCCL and the backend use it.
void use_device(int local_rank) {
  std::string why;
  if (!cuda::cuda_device_available(&why)) throw std::runtime_error("run.device: cuda: " + why);
  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count));
  if (local_rank >= count)
    throw ConfigError("run.device: cuda: local rank " + std::to_string(local_rank) + " uses CUDA device " +
                      std::to_string(local_rank) + ", but this process sees " + std::to_string(count) +
                      " (one rank per GPU; every rank must see all of its node's GPUs)");
  CUDA_CHECK(cudaSetDevice(local_rank));
}

// Rank 0's blob on every rank, by the plan's method; an MPI rendezvous leaves its communicator
// in *bootstrap, to end the job with MPI_Abort and finalize MPI at the end.
std::string share(const RendezvousPlan& plan, const LaunchEnv& env, const std::string& blob,
                  std::unique_ptr<Communicator>* bootstrap) {
  switch (plan.method) {
    case RendezvousMethod::File:
      return file_rendezvous(plan.file, plan.job_id, env.rank, blob, plan.timeout_s);
    case RendezvousMethod::Tcp:
      return tcp_rendezvous(plan.host, plan.port, env.rank, env.world, blob, plan.timeout_s);
    case RendezvousMethod::Mpi:
      break;
  }
#ifdef MERINO_HAVE_MPI
  *bootstrap = make_mpi_communicator(env);
  return (*bootstrap)->broadcast(blob);
#else
  (void)bootstrap;
  throw std::logic_error("rendezvous over MPI in a build without MPI");  // plan_rendezvous refuses it
#endif
}

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const LaunchEnv& env, const std::string& run_dir) {
  const EnvLookup getenv_fn = [](const char* name) -> const char* { return std::getenv(name); };
  const double timeout_s = env_seconds(getenv_fn, "MERINO_NCCL_TIMEOUT_S", 600);
  std::optional<RendezvousPlan> plan;
  if (env.world > 1) plan = plan_rendezvous(env, getenv_fn, run_dir);  // config errors before CUDA starts
  use_device(env.local_rank);
  ncclUniqueId id{};
  if (env.rank == 0) {
    const ncclResult_t rc = ncclGetUniqueId(&id);
    if (rc != ncclSuccess) throw std::runtime_error("NCCL: cannot create the job's unique id: " + nccl_error(rc));
  }
  std::unique_ptr<Communicator> bootstrap;
  if (plan) {
    const std::string blob = share(*plan, env, std::string(id.internal, sizeof id.internal), &bootstrap);
    if (blob.size() != sizeof id.internal)
      throw std::runtime_error("rendezvous: rank " + std::to_string(env.rank) + " received " +
                               std::to_string(blob.size()) + " bytes, not an NCCL id's " +
                               std::to_string(sizeof id.internal));
    std::memcpy(id.internal, blob.data(), sizeof id.internal);
  }
  auto comm = std::make_unique<NcclCommunicator>(id, env, timeout_s, std::move(bootstrap));
  // ncclCommInitRank returns on rank 0 only once every rank has joined, so all have read the file
  if (plan && plan->method == RendezvousMethod::File && env.rank == 0) {
    std::error_code ec;
    std::filesystem::remove(plan->file, ec);
  }
  return comm;
}

}  // namespace merino

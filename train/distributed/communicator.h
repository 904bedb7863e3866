// Collectives between the processes of one data-parallel job, on the training backend's buffers:
// host memory for the CPU backend, device memory for the CUDA backend. One implementation per
// transport: a single process (everything is the identity, host memory), MPI
// (mpi_communicator.cpp, built when MPI is found; host memory) and NCCL (nccl_communicator.cpp,
// built with CUDA when NCCL is found; device memory). Every rank must make the same calls in the
// same order, as with MPI itself.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "train/distributed/launch_env.h"

namespace merino {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual int local_rank() const = 0;  // among the ranks on this node: the GPU a rank uses
  virtual std::string transport() const = 0;
  // Device transports run their collectives after the work queued so far on `stream` (the CUDA
  // backend's cudaStream_t), so they see the gradients the backend is still computing; host
  // transports have nothing to order.
  virtual void set_compute_stream(void* /*stream*/) {}

  // In place: data = sum over ranks.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  virtual void all_reduce_sum(double* data, size_t n) = 0;
  // Starts an in-place sum that completes by wait_all(); `data` must stay untouched until then.
  // progress() lets pending reductions advance while the caller computes something else.
  virtual void start_all_reduce_sum(float* data, size_t n) = 0;
  virtual void progress() = 0;
  virtual void wait_all() = 0;

  // Rank r receives into `shard` the sum over ranks of in[offsets[r] .. offsets[r] + counts[r]).
  virtual void reduce_scatter_sum(const float* in, float* shard, const std::vector<size_t>& counts) = 0;
  // In place: every rank contributes data[offsets[r] .. +counts[r]) and receives all of data.
  virtual void all_gather(float* data, const std::vector<size_t>& counts) = 0;
  // Rank 0 receives every rank's shard into `out` (laid out by counts), which is host memory on
  // every transport (a checkpoint is written from it); others pass out = null.
  virtual void gather(const float* shard, float* out, const std::vector<size_t>& counts) = 0;
  // Rank 0's `value` on every rank.
  virtual std::string broadcast(const std::string& value) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job with `code` (used after an error on one rank, so the others do
  // not wait forever inside a collective); stdout and stderr are flushed first.
  [[noreturn]] void abort(int code);
  // After an error on this rank, before its buffers are freed: stops this rank's collectives
  // that are queued or running, which a device transport would otherwise keep spinning on (its
  // peers will never join them) while unwinding waits for the device. Nothing works afterwards
  // but abort(). Host transports have nothing running outside their calls.
  virtual void stop_collectives() {}

 protected:
  virtual void abort_others(int code) = 0;  // may end this process too
};

// Rank r's share of n elements: contiguous, the first n % world ranks one element larger.
std::vector<size_t> shard_counts(size_t n, int world);
size_t shard_offset(const std::vector<size_t>& counts, int rank);

// Connects the processes named by `env` for training on `device` (run.device):
//   cuda  NCCL at any world size when this build has it, the NCCL id passed around as
//         rendezvous.h describes (files under `run_dir` for the file method); without NCCL, a
//         single process only
//   cpu   MPI when an MPI launcher or srun started the processes (and this build has MPI), a
//         single-process communicator when world is 1
// Otherwise ConfigError explaining how to launch.
std::unique_ptr<Communicator> make_communicator(const LaunchEnv& env, const std::string& device,
                                                const std::string& run_dir);

// Is MPI compiled in? (CTest and `merino info --build` report it.)
bool have_mpi();
// Is NCCL compiled in?
bool have_nccl();

}  // namespace merino

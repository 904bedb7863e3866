// Communicator over MPI (Open MPI here). Counts beyond INT_MAX are split, because MPI counts
// are int. Non-blocking sums use MPI_Iallreduce; Open MPI advances them only inside MPI calls,
// so progress() tests the pending requests, and the trainer calls it between layers of the
// backward pass.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <vector>

#include "train/distributed/communicator.h"

namespace merino {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(what) + ": " + std::string(text, size_t(len)));
}

int as_int(size_t n, const char* what) {
  if (n > size_t(INT_MAX))
    throw std::runtime_error(std::string(what) + ": " + std::to_string(n) +
                             " elements per rank exceed MPI's int counts");
  return int(n);
}

std::vector<int> int_counts(const std::vector<size_t>& counts, const char* what) {
  std::vector<int> out;
  size_t total = 0;
  for (size_t c : counts) {
    out.push_back(as_int(c, what));
    total += c;
  }
  as_int(total, what);  // displacements are int too
  return out;
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> d(counts.size(), 0);
  for (size_t r = 1; r < counts.size(); ++r) d[r] = d[r - 1] + counts[r - 1];
  return d;
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(const LaunchEnv& env) : local_rank_(env.local_rank) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) check(MPI_Init(nullptr, nullptr), "MPI_Init");
    // errors come back as return codes, so they can be reported as one line before aborting
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    if (env.world != world_ || env.rank != rank_)
      throw std::runtime_error("MPI reports rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
                               " but the " + env.launcher + " environment says " + std::to_string(env.rank) +
                               " of " + std::to_string(env.world));
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  int local_rank() const override { return local_rank_; }
  std::string transport() const override { return "MPI"; }

  void all_reduce_sum(float* data, size_t n) override { reduce_chunks(data, n, MPI_FLOAT); }
  void all_reduce_sum(double* data, size_t n) override { reduce_chunks(data, n, MPI_DOUBLE); }

  void start_all_reduce_sum(float* data, size_t n) override {
    for (size_t done = 0; done < n; done += kChunk) {
      pending_.emplace_back();
      check(MPI_Iallreduce(MPI_IN_PLACE, data + done, int(std::min(kChunk, n - done)), MPI_FLOAT,
                           MPI_SUM, MPI_COMM_WORLD, &pending_.back()),
            "MPI_Iallreduce");
    }
  }
  void progress() override {
    if (pending_.empty()) return;
    int done = 0;
    check(MPI_Testall(int(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
  }
  void wait_all() override {
    if (pending_.empty()) return;
    check(MPI_Waitall(int(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    pending_.clear();
  }

  void reduce_scatter_sum(const float* in, float* shard, const std::vector<size_t>& counts) override {
    const std::vector<int> c = int_counts(counts, "reduce-scatter");
    check(MPI_Reduce_scatter(in, shard, c.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Reduce_scatter");
  }
  void all_gather(float* data, const std::vector<size_t>& counts) override {
    const std::vector<int> c = int_counts(counts, "all-gather");
    const std::vector<int> d = displacements(c);
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, c.data(), d.data(), MPI_FLOAT,
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
  }
  void gather(const float* shard, float* out, const std::vector<size_t>& counts) override {
    const std::vector<int> c = int_counts(counts, "gather");
    const std::vector<int> d = displacements(c);
    check(MPI_Gatherv(shard, c[size_t(rank_)], MPI_FLOAT, out, c.data(), d.data(), MPI_FLOAT, 0,
                      MPI_COMM_WORLD),
          "MPI_Gatherv");
  }
  std::string broadcast(const std::string& value) override {
    unsigned long long size = value.size();
    check(MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    std::string out = rank_ == 0 ? value : std::string(size_t(size), '\0');
    check(MPI_Bcast(out.data(), as_int(out.size(), "broadcast"), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
    return out;
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 protected:
  void abort_others(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  static constexpr size_t kChunk = size_t(1) << 30;
  template <class V>
  void reduce_chunks(V* data, size_t n, MPI_Datatype type) {
    for (size_t done = 0; done < n; done += kChunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + done, int(std::min(kChunk, n - done)), type, MPI_SUM,
                          MPI_COMM_WORLD),
            "MPI_Allreduce");
  }

  int rank_ = 0, world_ = 1;
  const int local_rank_;
  std::vector<MPI_Request> pending_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(const LaunchEnv& env) {
  return std::make_unique<MpiCommunicator>(env);
}

}  // namespace merino

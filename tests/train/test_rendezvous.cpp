// The rendezvous that hands rank 0's NCCL id to every rank (train/distributed/rendezvous.h),
// without a GPU: each rank is a thread of this process, talking over loopback TCP or through files in a
// temporary directory, with timeouts of a fraction of a second. Plus the choice of method from
// the launcher's environment.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/errors.h"
#include "train/distributed/communicator.h"
#include "train/distributed/rendezvous.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using merino::file_rendezvous;
using merino::tcp_rendezvous;

// A port nobody listens on: the one the kernel picks for a socket bound to port 0.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// 128 bytes like an ncclUniqueId, zeros and newlines included.
std::string blob(unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(128, '\0');
  for (char& c : out) c = char(rng() % 256);
  out[0] = '\0';
  out[1] = '\n';
  return out;
}

struct Outcome {
  std::string value, error;
};

// Runs fn(rank) for every rank on a thread of its own.
std::vector<Outcome> run_ranks(int world, const std::function<std::string(int)>& fn) {
  std::vector<std::future<std::string>> running;
  for (int r = 0; r < world; ++r) running.push_back(std::async(std::launch::async, fn, r));
  std::vector<Outcome> out;
  for (auto& f : running) {
    try {
      out.push_back({f.get(), ""});
    } catch (const std::exception& e) {
      out.push_back({"", e.what()});
    }
  }
  return out;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "merino-rendezvous-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(rendezvous_tcp, EveryRankReceivesRankZerosBlob) {
  const int port = free_port();
  const std::string id = blob(1);
  // rank 0 starts last: the others retry until it listens
  const auto out = run_ranks(3, [&](int r) {
    if (r == 0) pause_ms(200);
    return tcp_rendezvous("localhost", port, r, 3, r == 0 ? id : "not rank 0's", 5.0);
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out[size_t(r)].error, "") << "rank " << r;
    EXPECT_EQ(out[size_t(r)].value, id) << "rank " << r;
  }
}

TEST(rendezvous_tcp, NoRankZeroTimesOutNamingTheAddress) {
  const int port = free_port();
  const auto t0 = Clock::now();
  const auto out = run_ranks(1, [&](int) { return tcp_rendezvous("127.0.0.1", port, 1, 2, "", 0.3); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_HAS(out[0].error, "TCP rendezvous on 127.0.0.1:" + std::to_string(port) +
                               ": rank 1 got no id from rank 0 within 0.3 s");
  EXPECT_HAS(out[0].error, "Connection refused");
}

TEST(rendezvous_tcp, UnknownHostFailsAtOnce) {
  const auto t0 = Clock::now();
  const auto out = run_ranks(1, [](int) { return tcp_rendezvous("no-such-host.invalid", 29500, 1, 2, "", 30.0); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_HAS(out[0].error, "TCP rendezvous on no-such-host.invalid:29500: rank 1 cannot resolve no-such-host.invalid");
}

TEST(rendezvous_tcp, MissingRankIsNamed) {
  const int port = free_port();
  const auto t0 = Clock::now();
  const auto out = run_ranks(2, [&](int r) { return tcp_rendezvous("127.0.0.1", port, r, 3, blob(2), 0.5); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_HAS(out[0].error, "TCP rendezvous on 127.0.0.1:" + std::to_string(port) +
                               ": 1 of 2 ranks did not connect within 0.5 s (missing rank 2)");
  EXPECT_HAS(out[1].error, "rank 1 got no id from rank 0");
}

TEST(rendezvous_tcp, AnotherWorldSizeIsRefused) {
  const int port = free_port();
  const auto out = run_ranks(2, [&](int r) {
    return tcp_rendezvous("127.0.0.1", port, r, r == 0 ? 2 : 3, blob(3), r == 0 ? 1.0 : 0.5);
  });
  EXPECT_HAS(out[0].error, "a process connected as rank 1 of 3, but this job has 2 ranks");
  EXPECT_NE(out[1].error, "");
}

TEST(rendezvous_file, EveryRankReceivesRankZerosBlob) {
  TempDir dir;
  const std::string path = dir.path() + "/run/.nccl-id-job7";  // run/ does not exist yet
  const std::string id = blob(4);
  const auto out = run_ranks(3, [&](int r) {
    if (r == 0) pause_ms(150);
    return file_rendezvous(path, "job7", r, r == 0 ? id : "", 5.0);
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(out[size_t(r)].error, "") << "rank " << r;
    EXPECT_EQ(out[size_t(r)].value, id) << "rank " << r;
  }
  // written through a temporary file and a rename: nothing else is left in the directory
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path() + "/run")) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{".nccl-id-job7"});
}

TEST(rendezvous_file, MissingFileTimesOutNamingIt) {
  TempDir dir;
  const std::string path = dir.path() + "/.nccl-id-job8";
  const auto t0 = Clock::now();
  const auto out = run_ranks(2, [&](int r) { return r == 0 ? "" : file_rendezvous(path, "job8", r, "", 0.3); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_HAS(out[1].error, "file rendezvous: rank 1 waited 0.3 s for " + path + " (rank 0 writes it");
}

TEST(rendezvous_file, FileOfAnEarlierJobIsNotRead) {
  TempDir dir;
  const std::string path = dir.path() + "/id";
  file_rendezvous(path, "job-old", 0, blob(5), 1.0);  // a crashed launch left it behind
  auto out = run_ranks(2, [&](int r) { return r == 0 ? "" : file_rendezvous(path, "job-new", r, "", 0.3); });
  EXPECT_HAS(out[1].error, "file rendezvous: " + path + " is from job 'job-old', not this job 'job-new'");
  // once this job's rank 0 replaces it, its id arrives
  const std::string id = blob(6);
  out = run_ranks(2, [&](int r) {
    if (r == 0) pause_ms(100);
    return file_rendezvous(path, "job-new", r, r == 0 ? id : "", 5.0);
  });
  EXPECT_EQ(out[1].error, "");
  EXPECT_EQ(out[1].value, id);
}

// ---- choosing the method ----

using Env = std::map<std::string, std::string>;

merino::RendezvousPlan plan(const Env& env, const std::string& run_dir = "/runs/a") {
  const merino::EnvLookup lookup = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  return merino::plan_rendezvous(merino::discover_launch_env(lookup), lookup, run_dir);
}

std::string plan_error(const Env& env) {
  try {
    plan(env);
  } catch (const merino::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const Env kTorchrun = {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node7"},
                       {"MASTER_PORT", "29500"}};
const Env kSrun = {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "1"}, {"SLURM_JOB_ID", "77"},
                   {"SLURM_STEP_ID", "0"}};
const Env kMpirun = {{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                     {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"PMIX_NAMESPACE", "prterun-host-123@1"}};

Env with(Env env, const Env& more) {
  for (const auto& [k, v] : more) env[k] = v;
  return env;
}

TEST(rendezvous_plan, ByLauncher) {
  merino::RendezvousPlan p = plan(kTorchrun);
  EXPECT_EQ(p.method, merino::RendezvousMethod::Tcp);
  EXPECT_EQ(p.host, "node7");
  EXPECT_EQ(p.port, 29500);
  EXPECT_EQ(p.timeout_s, 300);

  p = plan(kSrun);
  EXPECT_EQ(p.method, merino::RendezvousMethod::File);
  EXPECT_EQ(p.job_id, "slurm-77.0");
  EXPECT_EQ(p.file, "/runs/a/.nccl-id-slurm-77.0");
  // a requeued job keeps its SLURM_JOB_ID: the restart count keeps its files apart
  EXPECT_EQ(plan(with(kSrun, {{"SLURM_RESTART_COUNT", "2"}})).file, "/runs/a/.nccl-id-slurm-77.0.r2");

  if (merino::have_mpi())
    EXPECT_EQ(plan(kMpirun).method, merino::RendezvousMethod::Mpi);
  else
    EXPECT_HAS(plan_error(kMpirun), "built without MPI");
}

TEST(rendezvous_plan, ChosenByTheEnvironment) {
  merino::RendezvousPlan p = plan(with(kMpirun, {{"MERINO_RENDEZVOUS_FILE", "/shared/id"}}));
  EXPECT_EQ(p.method, merino::RendezvousMethod::File);
  EXPECT_EQ(p.file, "/shared/id");
  EXPECT_EQ(p.job_id, "pmix-prterun-host-123_1");  // only [A-Za-z0-9._-] in file names

  p = plan(with(kTorchrun, {{"MERINO_RENDEZVOUS", "file"}, {"MERINO_JOB_ID", "run-42"},
                            {"MERINO_RENDEZVOUS_TIMEOUT_S", "2.5"}}));
  EXPECT_EQ(p.file, "/runs/a/.nccl-id-run-42");
  EXPECT_EQ(p.timeout_s, 2.5);

  p = plan(with(kSrun, {{"MERINO_RENDEZVOUS", "tcp"}, {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "6000"}}));
  EXPECT_EQ(p.method, merino::RendezvousMethod::Tcp);
  EXPECT_EQ(p.host, "node1");
  EXPECT_EQ(p.port, 6000);
}

TEST(rendezvous_plan, ErrorsNameTheVariable) {
  EXPECT_HAS(plan_error(with(kTorchrun, {{"MERINO_RENDEZVOUS", "carrier-pigeon"}})),
             "MERINO_RENDEZVOUS=carrier-pigeon: expected mpi, file or tcp");
  EXPECT_HAS(plan_error(with(kTorchrun, {{"MERINO_RENDEZVOUS", "file"}})), "set MERINO_JOB_ID");
  EXPECT_HAS(plan_error(with(kSrun, {{"MERINO_RENDEZVOUS", "tcp"}})),
             "the TCP rendezvous needs MASTER_ADDR and MASTER_PORT");
  EXPECT_HAS(plan_error(with(kSrun, {{"MERINO_RENDEZVOUS", "tcp"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "0"}})),
             "MASTER_PORT=0: expected an integer in [1, 65535]");
  EXPECT_HAS(plan_error(with(kTorchrun, {{"MERINO_RENDEZVOUS_TIMEOUT_S", "soon"}})),
             "MERINO_RENDEZVOUS_TIMEOUT_S=soon: expected a number of seconds > 0");
}

}  // namespace

#include "train/distributed/rendezvous.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "base/errors.h"
#include "train/distributed/communicator.h"

namespace merino {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string seconds(double s) {
  std::ostringstream out;
  out << s << " s";
  return out.str();
}

Clock::time_point deadline_after(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// ---- choosing the method ----------------------------------------------------------------

// Names this launch: the same on every rank, different for every launch, so that a file a
// crashed job left behind is never taken for this job's.
std::string job_identity(const EnvLookup& getenv_fn) {
  const auto var = [&](const char* name) -> std::string {
    const char* v = getenv_fn(name);
    return v ? v : "";
  };
  std::string id = var("MERINO_JOB_ID");
  if (id.empty() && !var("SLURM_JOB_ID").empty()) {
    id = "slurm-" + var("SLURM_JOB_ID");
    if (!var("SLURM_STEP_ID").empty()) id += "." + var("SLURM_STEP_ID");
    // a requeued job keeps its id; the restart count tells its attempts apart
    if (!var("SLURM_RESTART_COUNT").empty()) id += ".r" + var("SLURM_RESTART_COUNT");
  }
  if (id.empty() && !var("PMIX_NAMESPACE").empty()) id = "pmix-" + var("PMIX_NAMESPACE");
  if (id.empty())
    throw ConfigError("environment: the file rendezvous needs an id for this launch, the same on every rank "
                      "and new for every launch (so that a file left by an earlier job is not read): set "
                      "MERINO_JOB_ID, or launch with srun or mpirun");
  // it becomes part of a file name and a line of the file
  for (char& c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return id;
}

}  // namespace

RendezvousPlan plan_rendezvous(const LaunchEnv& env, const EnvLookup& getenv_fn, const std::string& run_dir) {
  RendezvousPlan p;
  p.timeout_s = env_seconds(getenv_fn, "MERINO_RENDEZVOUS_TIMEOUT_S", p.timeout_s);
  const char* forced = getenv_fn("MERINO_RENDEZVOUS");
  const char* file = getenv_fn("MERINO_RENDEZVOUS_FILE");
  std::string method;
  if (forced) method = forced;
  else if (file || env.launcher == "slurm") method = "file";
  else if (env.mpi_launched()) method = "mpi";
  else method = "tcp";

  if (method == "mpi") {
    if (!have_mpi())
      throw ConfigError("environment: " + env.launcher + " started " + std::to_string(env.world) +
                        " processes, but this merino was built without MPI to pass the NCCL id around: set "
                        "MERINO_RENDEZVOUS=file or tcp (docs/DISTRIBUTED.md)");
    p.method = RendezvousMethod::Mpi;
  } else if (method == "file") {
    p.method = RendezvousMethod::File;
    p.job_id = job_identity(getenv_fn);
    p.file = file ? std::string(file) : run_dir + "/.nccl-id-" + p.job_id;
  } else if (method == "tcp") {
    p.method = RendezvousMethod::Tcp;
    p.host = env.master_addr;
    p.port = env.master_port;
    if (env.launcher != "torchrun") {  // the torchrun launcher has read and checked them already
      const char* addr = getenv_fn("MASTER_ADDR");
      const char* port = getenv_fn("MASTER_PORT");
      if (!addr || !port) throw ConfigError("environment: the TCP rendezvous needs MASTER_ADDR and MASTER_PORT");
      p.host = addr;
      p.port = int(parse_env_int("MASTER_PORT", port, 1, 65535));
    }
    if (p.host.empty()) throw ConfigError("environment: MASTER_ADDR is empty");
  } else {
    throw ConfigError("environment: MERINO_RENDEZVOUS=" + method + ": expected mpi, file or tcp");
  }
  return p;
}

// ---- file -------------------------------------------------------------------------------

namespace {

std::string to_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool from_hex(const std::string& hex, std::string* bytes) {
  if (hex.size() % 2) return false;
  const auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  bytes->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes->push_back(char(hi * 16 + lo));
  }
  return true;
}

void write_atomically(const std::string& path, const std::string& text) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw std::runtime_error("file rendezvous: cannot create " + parent.string() + ": " + ec.message());
  // in the same directory, so the rename is atomic: a reader sees no file or the whole file
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += size_t(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : err);
    ::unlink(tmp.c_str());
    throw std::runtime_error("file rendezvous: cannot write " + path + ": " + why);
  }
}

}  // namespace

std::string file_rendezvous(const std::string& path, const std::string& job_id, int rank,
                            const std::string& blob, double timeout_s) {
  if (rank == 0) {
    write_atomically(path, job_id + "\n" + to_hex(blob) + "\n");
    return blob;
  }
  const Clock::time_point deadline = deadline_after(timeout_s);
  std::string other_job;  // the job named by a stale file, when one was seen
  // back off up to half a second: hundreds of ranks polling a network filesystem add up
  auto pause = std::chrono::milliseconds(10);
  for (;;) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t eol = text.find('\n');
      std::string out;
      if (eol != std::string::npos && eol + 1 < text.size() && text.back() == '\n') {
        const std::string job = text.substr(0, eol);
        if (job == job_id && from_hex(text.substr(eol + 1, text.size() - eol - 2), &out)) return out;
        if (job != job_id) other_job = job;
      }
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    deadline - Clock::now()) + std::chrono::milliseconds(1)));
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
  if (!other_job.empty())
    throw std::runtime_error("file rendezvous: " + path + " is from job '" + other_job + "', not this job '" +
                             job_id + "' (left by an earlier launch), and rank 0 did not replace it within " +
                             seconds(timeout_s));
  throw std::runtime_error("file rendezvous: rank " + std::to_string(rank) + " waited " + seconds(timeout_s) +
                           " for " + path + " (rank 0 writes it; its directory must be shared by every node)");
}

// ---- TCP --------------------------------------------------------------------------------

namespace {

constexpr char kMagic[8] = {'m', 'e', 'r', 'i', 'n', 'o', 'R', '1'};
constexpr uint32_t kMaxBlob = 1u << 20;

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Socket() { reset(); }
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes (false then).
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) return false;
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, int(std::min<long long>(left, INT_MAX)));
    if (rc > 0) return true;  // POLLERR / POLLHUP too: the next call reports what happened
    if (rc == 0 && Clock::now() >= deadline) return false;
    if (rc < 0 && errno != EINTR) return false;
  }
}

// The sockets are non-blocking, so every transfer honours the deadline. Empty string: done.
std::string send_all(int fd, const char* p, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= size_t(k);
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_ready(fd, POLLOUT, deadline)) return "timed out sending";
    } else {
      return std::strerror(errno);
    }
  }
  return "";
}

std::string recv_all(int fd, char* p, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k > 0) {
      p += k;
      n -= size_t(k);
    } else if (k == 0) {
      return "connection closed by the other side";
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(fd, POLLIN, deadline)) return "timed out waiting for data";
    } else {
      return std::strerror(errno);
    }
  }
  return "";
}

void put_u32(char* p, uint32_t v) {
  const uint32_t be = htonl(v);
  std::memcpy(p, &be, 4);
}
uint32_t get_u32(const char* p) {
  uint32_t be = 0;
  std::memcpy(&be, p, 4);
  return ntohl(be);
}

struct AddrList {
  addrinfo* head = nullptr;
  ~AddrList() {
    if (head) ::freeaddrinfo(head);
  }
};

// Rank 0: every interface, IPv6 first (a dual-stack socket accepts IPv4 clients as well).
Socket listen_on(int port, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  AddrList addrs;
  const int rc = ::getaddrinfo(nullptr, std::to_string(port).c_str(), &hints, &addrs.head);
  if (rc != 0) throw std::runtime_error(where + ": rank 0 cannot listen: " + ::gai_strerror(rc));
  std::vector<const addrinfo*> order;
  for (const addrinfo* a = addrs.head; a; a = a->ai_next) order.push_back(a);
  std::stable_partition(order.begin(), order.end(), [](const addrinfo* a) { return a->ai_family == AF_INET6; });
  std::string why = "no address to bind";
  for (const addrinfo* a : order) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!s.valid()) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1, zero = 0;
    // a job restarted right away finds the port in TIME_WAIT from the previous one
    ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->ai_family == AF_INET6) ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(s.fd(), SOMAXCONN) == 0) return s;
    why = std::strerror(errno);
  }
  throw std::runtime_error(where + ": rank 0 cannot listen on port " + std::to_string(port) + ": " + why);
}

std::string serve(int port, int world, const std::string& blob, Clock::time_point deadline, double timeout_s,
                  const std::string& where) {
  const Socket listener = listen_on(port, where);
  std::vector<Socket> peers(static_cast<size_t>(world));  // by rank; rank 0 is this process
  int joined = 0;
  while (joined < world - 1) {
    if (!wait_ready(listener.fd(), POLLIN, deadline)) {
      std::string missing;
      int listed = 0;
      for (int r = 1; r < world && listed < 8; ++r)
        if (!peers[size_t(r)].valid()) missing += (listed++ ? ", " : "") + std::to_string(r);
      if (world - 1 - joined > listed) missing += ", ...";
      throw std::runtime_error(where + ": " + std::to_string(world - 1 - joined) + " of " +
                               std::to_string(world - 1) + " ranks did not connect within " + seconds(timeout_s) +
                               " (missing rank " + missing + ")");
    }
    Socket conn(::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn.valid()) continue;  // the client gave up already, or EINTR: wait for the next one
    // a rank sends its hello right after connecting; anything else on the port is dropped
    char hello[16];
    const auto hello_deadline = std::min(deadline, Clock::now() + std::chrono::seconds(5));
    if (!recv_all(conn.fd(), hello, sizeof hello, hello_deadline).empty() ||
        std::memcmp(hello, kMagic, sizeof kMagic) != 0)
      continue;
    const uint32_t rank = get_u32(hello + 8), their_world = get_u32(hello + 12);
    if (their_world != uint32_t(world) || rank == 0 || rank >= uint32_t(world))
      throw std::runtime_error(where + ": a process connected as rank " + std::to_string(rank) + " of " +
                               std::to_string(their_world) + ", but this job has " + std::to_string(world) +
                               " ranks (does another job use the same MASTER_PORT?)");
    if (!peers[rank].valid()) ++joined;
    peers[rank] = std::move(conn);  // a rank that reconnected replaces its earlier connection
  }
  std::string reply(kMagic, sizeof kMagic);
  reply.resize(sizeof kMagic + 4);
  put_u32(&reply[sizeof kMagic], uint32_t(blob.size()));
  reply += blob;
  for (int r = 1; r < world; ++r) {
    const std::string err = send_all(peers[size_t(r)].fd(), reply.data(), reply.size(), deadline);
    if (!err.empty())
      throw std::runtime_error(where + ": cannot send the id to rank " + std::to_string(r) + ": " + err);
  }
  return blob;
}

constexpr const char* kConnectTimedOut = "connect timed out";

// One attempt at `a`: connect, say hello, read the reply. Empty string and *blob set: done.
std::string try_join(const addrinfo* a, int rank, int world, Clock::time_point deadline, std::string* blob) {
  Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
  if (!s.valid()) return std::strerror(errno);
  if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return std::strerror(errno);
    if (!wait_ready(s.fd(), POLLOUT, deadline)) return kConnectTimedOut;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::strerror(err);
  }
  char hello[16];
  std::memcpy(hello, kMagic, sizeof kMagic);
  put_u32(hello + 8, uint32_t(rank));
  put_u32(hello + 12, uint32_t(world));
  std::string err = send_all(s.fd(), hello, sizeof hello, deadline);
  if (!err.empty()) return err;
  char head[sizeof kMagic + 4];
  err = recv_all(s.fd(), head, sizeof head, deadline);
  if (!err.empty()) return err;
  const uint32_t size = get_u32(head + sizeof kMagic);
  if (std::memcmp(head, kMagic, sizeof kMagic) != 0 || size > kMaxBlob)
    return "the process listening there is not a merino rendezvous";
  blob->assign(size, '\0');
  return recv_all(s.fd(), blob->data(), size, deadline);
}

std::string join(const std::string& host, int port, int rank, int world, Clock::time_point deadline,
                 double timeout_s, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  AddrList addrs;
  for (;;) {
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addrs.head);
    if (rc == 0) break;
    // a temporary DNS failure is retried; an unknown name is not going to appear
    if (rc != EAI_AGAIN || Clock::now() >= deadline)
      throw std::runtime_error(where + ": rank " + std::to_string(rank) + " cannot resolve " + host + ": " +
                               ::gai_strerror(rc));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string last;
  for (;;) {
    for (const addrinfo* a = addrs.head; a; a = a->ai_next) {
      std::string blob;
      const std::string err = try_join(a, rank, world, deadline, &blob);
      if (err.empty()) return blob;
      // an attempt the deadline cut short says less than the refusal before it
      if (last.empty() || err != kConnectTimedOut) last = err;
    }
    // rank 0 may not be listening yet; no attempt starts with no time left
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100), deadline - Clock::now()));
    if (Clock::now() >= deadline) break;
  }
  throw std::runtime_error(where + ": rank " + std::to_string(rank) + " got no id from rank 0 within " +
                           seconds(timeout_s) + " (last error: " + last + ")");
}

}  // namespace

std::string tcp_rendezvous(const std::string& host, int port, int rank, int world, const std::string& blob,
                           double timeout_s) {
  const std::string where = "TCP rendezvous on " + host + ":" + std::to_string(port);
  const Clock::time_point deadline = deadline_after(timeout_s);
  return rank == 0 ? serve(port, world, blob, deadline, timeout_s, where)
                   : join(host, port, rank, world, deadline, timeout_s, where);
}

}  // namespace merino

#include "train/run_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "base/errors.h"

namespace merino {
namespace {

std::string holder_of(int fd) {
  char buf[256] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? size_t(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "an unknown process" : s;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

}  // namespace

RunDirLock::RunDirLock(const std::string& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) throw EnvironmentError(run_dir + ": cannot create the run directory: " + ec.message());
  const std::string path = run_dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd_ < 0) throw_environment_error(path, "cannot open the run directory's lock file");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw RunDirBusy(run_dir + ": in use by another merino train (" + holder + ", lock " + path +
                       "); wait for it to finish or choose another run.dir");
    errno = err;
    throw_environment_error(path, "cannot lock the run directory");
  }
  const std::string me = "pid " + std::to_string(::getpid()) + " on host " + host_name() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != ssize_t(me.size())) {
    ::close(fd_);
    fd_ = -1;
    throw_environment_error(path, "cannot write the run directory's lock file");
  }
}

RunDirLock::~RunDirLock() {
  // closing releases the flock; the file stays, as removing it would race with a new holder
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace merino

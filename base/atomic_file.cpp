#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/errors.h"

namespace merino {
namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw EnvironmentError(dir + ": cannot open directory to sync: " + errno_text());
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  // Some file systems cannot sync directories (EINVAL); the rename has still happened.
  if (rc != 0 && saved != EINVAL) throw EnvironmentError(dir + ": fsync: " + std::strerror(saved));
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::vector<char> name(path_.begin(), path_.end());
  const std::string suffix = ".tmp.XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) throw EnvironmentError(path_ + ": cannot create a temporary file beside it: " + errno_text());
  temp_path_ = name.data();
  // mkstemp creates 0600; shards and manifests are meant to be shared like ordinary files.
  ::fchmod(fd_, 0644);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw EnvironmentError(path_ + ": write failed: " + errno_text());
    }
    p += w;
    n -= size_t(w);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw EnvironmentError(path_ + ": fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    throw EnvironmentError(path_ + ": close failed: " + errno_text());
  }
  fd_ = -1;
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp_path_.c_str());
    throw EnvironmentError(path_ + ": cannot rename the finished temporary file into place: " + why);
  }
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  fsync_directory(dir.empty() ? "." : dir);
}

bool AtomicFile::is_temporary_name(const std::string& file_name) {
  const size_t at = file_name.rfind(".tmp.");
  return at != std::string::npos && file_name.size() - at == 11;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  AtomicFile file(path);
  file.write(contents.data(), contents.size());
  file.commit();
}

}  // namespace merino

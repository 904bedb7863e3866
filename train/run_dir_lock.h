// One trainer per run directory. RUN/.lock is held with flock(LOCK_EX) for the life of the
// trainer and records "pid host" of its holder; the kernel drops the lock when the process
// dies however it dies (kill -9 included), so a stale lock file never blocks a resume. A second
// trainer on the same directory is refused at once, naming the holder, instead of the two
// deleting each other's temporary checkpoints and interleaving metrics.jsonl.
#pragma once
#include <string>

#include "base/errors.h"

namespace merino {

// run.dir is in use by another trainer: the user picked a busy directory (exit 2).
struct RunDirBusy : ConfigError {
  using ConfigError::ConfigError;
};

class RunDirLock {
 public:
  // Creates `run_dir` when missing and takes its lock without waiting. Throws RunDirBusy naming
  // the holder's pid and host, or EnvironmentError (read-only file system, permission) naming
  // the path.
  explicit RunDirLock(const std::string& run_dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace merino

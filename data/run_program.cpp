#include "data/run_program.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace merino {
namespace {

// Closes the file actions and any pipe end still open when run_program leaves early.
struct SpawnResources {
  posix_spawn_file_actions_t actions;
  int pipe_fd[2] = {-1, -1};
  SpawnResources() { posix_spawn_file_actions_init(&actions); }
  ~SpawnResources() {
    posix_spawn_file_actions_destroy(&actions);
    for (int fd : pipe_fd)
      if (fd >= 0) ::close(fd);
  }
};

}  // namespace

ProgramResult run_program(const std::vector<std::string>& argv, const std::string& stdout_path,
                          const std::string& package) {
  SpawnResources r;
  if (::pipe2(r.pipe_fd, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_addopen(&r.actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&r.actions, r.pipe_fd[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&r.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, args[0], &r.actions, nullptr, args.data(), environ);
  if (err != 0)
    throw std::runtime_error(argv[0] + ": cannot run it (" + std::strerror(err) + "); install it, e.g. `apt-get install " +
                             package + "`");
  ::close(r.pipe_fd[1]);
  r.pipe_fd[1] = -1;
  ProgramResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(r.pipe_fd[0], buf, sizeof buf);
    if (n > 0) result.stderr_text.append(buf, size_t(n));
    else if (n == 0 || errno != EINTR) break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(argv[0] + ": waitpid: " + std::strerror(errno));
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // glibc's posix_spawnp reports a missing program as exit status 127 of the child
  if (result.exit_code == 127 && result.stderr_text.empty())
    throw std::runtime_error(argv[0] + ": not found; install it, e.g. `apt-get install " + package + "`");
  return result;
}

std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  const size_t start = text.find_last_of('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace merino

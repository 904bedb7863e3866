// A failure of the machine rather than of the input: disk full, permission denied, a read-only
// file system, memory exhausted. The CLI maps it to exit 1, keeping exit 2 for input the user
// can fix (ConfigError, DataError); docs/CLI.md lists the codes.
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace merino {

struct EnvironmentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "PATH: WHAT: <errno text>", read from errno at the call
[[noreturn]] inline void throw_environment_error(const std::string& path, const std::string& what) {
  throw EnvironmentError(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace merino

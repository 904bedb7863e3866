// The error types every layer throws, by whom the fault is: the CLI maps ConfigError and
// DataError (input the user can fix) to exit 2 and EnvironmentError (the machine) to exit 1;
// docs/CLI.md lists the codes. Messages are one line that names the file and the problem.
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace merino {

// A config that cannot be used: unknown or missing keys, values out of range, options that
// contradict each other ("file:line: key.path: rule" for YAML).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Data that cannot be used: a corrupt or truncated shard, a malformed manifest, tokenizer
// files or task rows that do not parse, a checksum that does not match.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure of the machine rather than of the input: disk full, permission denied, a read-only
// file system, memory exhausted.
struct EnvironmentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "PATH: WHAT: <errno text>", read from errno at the call
[[noreturn]] inline void throw_environment_error(const std::string& path, const std::string& what) {
  throw EnvironmentError(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace merino

// Runs another program (curl, unzip) without a shell: no quoting, no injection through URLs
// or paths. Its standard output goes to a file, its standard error comes back as text.
#pragma once
#include <string>
#include <vector>

namespace merino {

struct ProgramResult {
  int exit_code = -1;   // the program's exit status; 128 + N when killed by signal N
  std::string stderr_text;
};

// Runs argv[0] (looked up on PATH) and waits for it; throws std::runtime_error when it cannot
// be started, saying which package provides it (`package`).
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& stdout_path,
                          const std::string& package);

// The last non-empty line of a program's error output, for one-line messages.
std::string last_line(const std::string& text);

}  // namespace merino

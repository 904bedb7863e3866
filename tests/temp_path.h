// Temporary file names that are unique per test process: ctest -j runs each test of one
// executable as its own process, concurrently, so a fixed name would be shared between them.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace merino::test {

inline std::string temp_path(const std::string& stem) {
  return ::testing::TempDir() + "merino_" + std::to_string(::getpid()) + "_" + stem;
}

}  // namespace merino::test

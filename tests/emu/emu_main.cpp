// main() of the emulation tests: GoogleTest's, except that a test registered as full-mode only
// (MERINO_EMU_FULL_ONLY=1, set by tests/emu/CMakeLists.txt) reports SKIPPED unless
// MERINO_EMU_FULL=1 asks for the full run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
bool env_is_1(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "1") == 0;
}
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (env_is_1("MERINO_EMU_FULL_ONLY") && !env_is_1("MERINO_EMU_FULL")) {
    std::printf("[  SKIPPED ] full-mode emulation test: run with MERINO_EMU_FULL=1\n");
    return 0;
  }
  return RUN_ALL_TESTS();
}

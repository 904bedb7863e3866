// main() of the emulation tests: GoogleTest's, except that a test registered as full-mode only
// (tests/emu/CMakeLists.txt runs it with --merino_emu_full_only) reports SKIPPED unless the
// environment asks for the full run with MERINO_EMU_FULL=1.
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
  bool full_only = false;
  for (int i = 1; i < argc; ++i) full_only |= std::strcmp(argv[i], "--merino_emu_full_only") == 0;
  if (full_only && !env_is_1("MERINO_EMU_FULL")) {
    std::printf("[  SKIPPED ] full-mode emulation test: run with MERINO_EMU_FULL=1\n");
    return 0;
  }
  return RUN_ALL_TESTS();
}

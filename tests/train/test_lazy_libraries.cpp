// cuBLASLt and NCCL are opened on first use (kernels/cuda/lazy_library.h): a process that never
// calls them never maps them, and the first call maps the library and reaches the real code.
// Neither call below needs a GPU.
#include <gtest/gtest.h>

#include <cublasLt.h>

#include <fstream>
#include <string>
#ifdef MERINO_HAVE_NCCL
#include <nccl.h>
#endif

namespace {

bool mapped(const std::string& library) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(library) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(lazy_libraries, CublasLtIsMappedOnlyOnceCalled) {
  EXPECT_FALSE(mapped("libcublasLt"));
  const char* name = cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(std::string(name), "CUBLAS_STATUS_NOT_SUPPORTED");
  EXPECT_TRUE(mapped("libcublasLt"));
}

#ifdef MERINO_HAVE_NCCL
TEST(lazy_libraries, NcclIsMappedOnlyOnceCalled) {
  EXPECT_FALSE(mapped("libnccl"));
  int version = 0;
  ASSERT_EQ(ncclGetVersion(&version), ncclSuccess);
  EXPECT_GE(version, 20000);  // 2.x.y as 2xxyy
  EXPECT_TRUE(mapped("libnccl"));
}
#endif

// merino_add_test gives every test one OpenMP and one OpenBLAS thread (tests/CMakeLists.txt).
// Run under CTest, both variables must be there with the same count: OpenBLAS falls back to
// every core when only OMP_NUM_THREADS reaches it, and `ctest -j` then oversubscribes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

TEST(Threads, BothThreadVariablesReachTheTest) {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const char* openblas = std::getenv("OPENBLAS_NUM_THREADS");
  if (omp == nullptr && openblas == nullptr) GTEST_SKIP() << "not run by CTest";
  ASSERT_NE(omp, nullptr) << "OPENBLAS_NUM_THREADS is set but OMP_NUM_THREADS is not";
  ASSERT_NE(openblas, nullptr) << "OMP_NUM_THREADS is set but OPENBLAS_NUM_THREADS is not";
  EXPECT_EQ(std::string(omp), std::string(openblas));
}

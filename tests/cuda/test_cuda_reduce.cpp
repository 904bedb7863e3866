// The deterministic sum of squares (kernels/cuda/reduce.cu, the global gradient norm) against
// its CPU twin in kernels/cpu/adamw.h, on seeded random inputs: n = 0, 1, 5, 4097 and several
// million (the strided, multi-block and unrolled paths), fp32 and bf16, bitwise determinism
// with and without caller scratch, and offset pointers (the vector path and the scalar one give
// the same bits). Every test first checks for a device and reports SKIPPED (never passes)
// without one. The device-side clip factor is tested where AdamW reads it
// (AdamW.DeviceClipScaleMatchesHostClipping in test_cuda_adamw.cpp).
//
// Tolerance: both sides add exact double squares in double; only the order differs (CPU:
// 4096-element chunks, GPU: strided per thread then a tree). The relative error of a sum of n
// positive terms is at most ~n * 2^-53 in the worst case and ~sqrt(n) * 2^-53 typically; for
// n <= 5e6 that is < 5.6e-10 worst case. rtol 1e-9 bounds that; a missed or doubled element
// moves the sum by ~1/n ~ 2e-7 relative, far above it.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/adamw.h"
#include "kernels/cuda/reduce.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;

constexpr double kSumRtol = 1e-9;

// n = 0 and 1, under one 16-byte chunk, one block, a few blocks, and > 1024 blocks' worth so
// the grid strides and the 4-chunk unroll run with partial groups
const size_t kSumSizes[] = {1, 5, 4097, 1000003, 5000011};

TEST(SumSquares, Fp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for (size_t n : kSumSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    std::mt19937 rng(static_cast<unsigned>(n));
    const Floats x = uniform(n, rng, -3.f, 3.f);
    const double ref = merino::cpu::sum_squares(x.data(), n);
    DeviceBuffer<float> dx(x);
    EXPECT_NEAR(merino::cuda::sum_squares(dx.get(), n), ref, kSumRtol * ref);
    DeviceBuffer<double> dsum(1);
    merino::cuda::sum_squares_device(dsum.get(), dx.get(), n);
    EXPECT_NEAR(dsum.download()[0], ref, kSumRtol * ref);
  }
}

TEST(SumSquares, Bf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for (size_t n : kSumSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    std::mt19937 rng(unsigned(n) + 1);
    const std::vector<bf16> x = to_bf16(uniform(n, rng, -3.f, 3.f));
    const Floats xf = to_float(x);
    const double ref = merino::cpu::sum_squares(xf.data(), n);
    DeviceBuffer<bf16> dx(x);
    EXPECT_NEAR(merino::cuda::sum_squares(dx.get(), n), ref, kSumRtol * ref);
  }
}

TEST(SumSquares, EmptyIsZero) {
  REQUIRE_CUDA_DEVICE();
  DeviceBuffer<float> dx(1);
  DeviceBuffer<double> dsum(std::vector<double>{123.0});
  merino::cuda::sum_squares_device(dsum.get(), dx.get(), 0);
  EXPECT_EQ(dsum.download()[0], 0.0);  // written, not left alone
}

// Same bits on every run, with or without caller scratch, and whatever the buffer's alignment
// (the chunk-to-thread assignment does not depend on the vector path).
TEST(SumSquares, DeterministicAndAlignmentIndependent) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 3000017;
  std::mt19937 rng(8);
  const Floats x = uniform(n, rng, -1.f, 1.f);
  DeviceBuffer<float> aligned(x), shifted(x, 1);
  DeviceBuffer<double> scratch(merino::cuda::sum_squares_scratch_doubles()), dsum(1);
  const double first = merino::cuda::sum_squares(aligned.get(), n);
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(merino::cuda::sum_squares(aligned.get(), n), first);
  }
  merino::cuda::sum_squares_device(dsum.get(), aligned.get(), n, 0, scratch.get());
  EXPECT_EQ(dsum.download()[0], first);
  EXPECT_EQ(merino::cuda::sum_squares(shifted.get(), n), first);
  const std::vector<bf16> xb = to_bf16(x);
  DeviceBuffer<bf16> b_aligned(xb), b_shifted(xb, 3);
  EXPECT_EQ(merino::cuda::sum_squares(b_aligned.get(), n),
            merino::cuda::sum_squares(b_shifted.get(), n));
}

}  // namespace

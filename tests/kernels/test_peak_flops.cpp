// The datasheet peaks MFU is measured against on a GPU (kernels/peak_flops.h), against NVIDIA's
// whitepaper arithmetic: SMs x dense FLOP per clock per SM x the clock the tensor-core figure is
// quoted at (not the table's own numbers).
#include <gtest/gtest.h>

#include "kernels/peak_flops.h"

namespace {

using merino::datasheet_gpu_peak_flops;

TEST(PeakFlops, DatasheetBf16MatchesWhitepaperArithmetic) {
  // H100 SXM5: 132 SMs x 4096 bf16 FLOP/clock x 1830 MHz (989 TFLOP/s); an H200 is the same chip
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA H100 80GB HBM3", 9, 0, 132, true),
              132.0 * 4096 * 1830e6, 1e-3 * 989e12);
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA H200", 9, 0, 132, true), 132.0 * 4096 * 1830e6,
              1e-3 * 989e12);
  // H100 PCIe: 114 SMs at 1620 MHz; A100: 108 SMs x 2048 x 1410 MHz
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA H100 PCIe", 9, 0, 114, true),
              114.0 * 4096 * 1620e6, 1e-3 * 756e12);
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA A100-SXM4-80GB", 8, 0, 108, true),
              108.0 * 2048 * 1410e6, 1e-3 * 312e12);
}

TEST(PeakFlops, DatasheetFp32IsTheCudaCoresRate) {
  // 128 fp32 lanes per Hopper SM, an FMA two FLOPs, at the 1980 MHz boost clock: 66.9 TFLOP/s
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA H100 80GB HBM3", 9, 0, 132, false),
              2.0 * 132 * 128 * 1980e6, 1e-3 * 67e12);
  // 64 lanes per A100 SM at 1410 MHz: 19.5 TFLOP/s
  EXPECT_NEAR(datasheet_gpu_peak_flops("NVIDIA A100-PCIE-40GB", 8, 0, 108, false),
              2.0 * 108 * 64 * 1410e6, 1e-3 * 19.5e12);
}

TEST(PeakFlops, NvlPartsAreSlowerThanSxm) {
  const double nvl = datasheet_gpu_peak_flops("NVIDIA H100 NVL", 9, 0, 132, true);
  EXPECT_GT(nvl, 800e12);
  EXPECT_LT(nvl, datasheet_gpu_peak_flops("NVIDIA H100 80GB HBM3", 9, 0, 132, true));
}

TEST(PeakFlops, UnknownGpuHasNoDatasheetFigure) {
  EXPECT_EQ(datasheet_gpu_peak_flops("NVIDIA RTX A6000", 8, 6, 84, true), 0.0);
  EXPECT_EQ(datasheet_gpu_peak_flops("some future part", 10, 0, 148, true), 0.0);
  EXPECT_EQ(datasheet_gpu_peak_flops("NVIDIA H100 MIG 1g.10gb", 9, 0, 16, true), 0.0);
}

}  // namespace

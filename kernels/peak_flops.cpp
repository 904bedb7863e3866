#include "kernels/peak_flops.h"

#include <cblas.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "base/errors.h"
#include "kernels/device_memory.h"

namespace merino {
namespace {

// OpenBLAS takes one buffer of BUFFER_SIZE (32 << 22 bytes on x86-64, plus a page) for each
// thread that runs a GEMM, its own pool's and each OpenMP thread that calls it (the CPU
// backend's matmul), and when the address space cannot hold one it retries the allocation for
// ever (blas_memory_alloc), silently. The calibration is a run's first GEMM: the space for
// every buffer is tried first, so a tight `ulimit -v` is one line with the sizes, not a hang.
void check_blas_buffers_fit() {
  const size_t threads = size_t(std::max(1, openblas_get_num_threads()) + std::max(1, omp_get_max_threads()) - 1);
  const size_t bytes = threads * ((size_t(32) << 22) + 4096);
  void* probe = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (probe == MAP_FAILED)
    throw EnvironmentError("cannot reserve " + mebibytes(bytes) + " of address space for OpenBLAS's buffers (" +
                           std::to_string(threads) + " threads x 128 MiB, beyond the training plan); raise the "
                           "memory limit (ulimit -v) or lower OMP_NUM_THREADS and OPENBLAS_NUM_THREADS");
  ::munmap(probe, bytes);
}

}  // namespace

double cpu_peak_flops() {
  check_blas_buffers_fit();
  const int n = 512;
  std::vector<float> a(size_t(n) * n, 0.25f), b(a), c(a.size());
  auto gemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.f, a.data(), n, b.data(), n,
                0.f, c.data(), n);
  };
  gemm();  // warm-up: thread pool start, page faults
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    gemm();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s);
  }
  return best;
}

double datasheet_gpu_peak_flops(const std::string& gpu_name, int cc_major, int cc_minor, int sms,
                                bool bf16) {
  // TFLOP/s from NVIDIA's A100, H100 and H200 datasheets, dense (the sparsity figures halved).
  // The SM count tells the SXM5 part (132) from the PCIe card (114); the NVL parts have 132 SMs
  // at a lower clock and say so in their name.
  struct Sheet {
    int major, minor, sms;
    bool nvl;
    double bf16_tflops, fp32_tflops;
  };
  static const Sheet kSheets[] = {
      {8, 0, 108, false, 312.0, 19.5},  // A100 (SXM4 and PCIe)
      {9, 0, 132, false, 989.4, 66.9},  // H100 SXM5, H200 SXM (the same compute)
      {9, 0, 114, false, 756.5, 51.2},  // H100 PCIe
      {9, 0, 132, true, 835.5, 60.0},   // H100 NVL, H200 NVL
  };
  const bool nvl = gpu_name.find("NVL") != std::string::npos;
  for (const Sheet& s : kSheets) {
    if (s.major == cc_major && s.minor == cc_minor && s.sms == sms && s.nvl == nvl) {
      return (bf16 ? s.bf16_tflops : s.fp32_tflops) * 1e12;
    }
  }
  return 0.0;
}

}  // namespace merino

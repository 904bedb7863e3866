#include "train/peak_flops.h"

#include <cblas.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "data/environment_error.h"
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

}  // namespace merino

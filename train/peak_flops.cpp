#include "train/peak_flops.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace merino {

double cpu_peak_flops() {
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

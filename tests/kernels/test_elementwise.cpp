#include <gtest/gtest.h>

#include "kernels/cpu/elementwise.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

TEST(Elementwise, ResidualAddsAndMayAlias) {
  std::mt19937 rng(60);
  constexpr size_t n = 70000;  // above the parallel threshold
  const Vec a = uniform(n, rng), b = uniform(n, rng);
  Vec sum(n);
  for (size_t i = 0; i < n; ++i) sum[i] = a[i] + b[i];
  Vec out(n);
  cpu::residual_forward(out.data(), a.data(), b.data(), n);
  expect_near("out", out, sum, 0.0);
  Vec a2 = a;
  cpu::residual_forward(a2.data(), a2.data(), b.data(), n);
  expect_near("out aliasing a", a2, sum, 0.0);
  Vec b2 = b;
  cpu::residual_forward(b2.data(), a.data(), b2.data(), n);
  expect_near("out aliasing b", b2, sum, 0.0);
}

TEST(Elementwise, AccumulateAdds) {
  std::mt19937 rng(61);
  constexpr size_t n = 1001;
  const Vec d0 = uniform(n, rng), s = uniform(n, rng);
  Vec dst = d0;
  cpu::accumulate(dst.data(), s.data(), n);
  cpu::accumulate(dst.data(), s.data(), n);
  Vec ref(n);
  for (size_t i = 0; i < n; ++i) ref[i] = d0[i] + 2 * s[i];
  expect_near("dst", dst, ref, 1e-15);
}

}  // namespace
}  // namespace merino::test

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/rope.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

struct Shape {
  int B, Tn, H, KVH, hd;
  double theta;
  size_t size() const { return size_t(B) * Tn * (H + 2 * KVH) * hd; }
};

// a small GQA shape, and a long one where angles reach hundreds of radians
const Shape kShapes[] = {{2, 5, 4, 2, 8, 10000.0}, {1, 300, 1, 1, 6, 500000.0}};

TEST(Rope, ForwardRotatesPairsByExplicitMatrix) {
  std::mt19937 rng(40);
  for (const Shape& s : kShapes) {
    const Vec x = uniform(s.size(), rng);
    Vec y = x;
    cpu::rope_forward(y.data(), s.B, s.Tn, s.H, s.KVH, s.hd, s.theta);
    const int C3 = (s.H + 2 * s.KVH) * s.hd, half = s.hd / 2;
    for (int b = 0; b < s.B; ++b)
      for (int t = 0; t < s.Tn; ++t)
        for (int head = 0; head < s.H + 2 * s.KVH; ++head) {
          const size_t base = size_t(b * s.Tn + t) * C3 + size_t(head) * s.hd;
          const bool rotated = head < s.H + s.KVH;  // q and k heads; v is left alone
          for (int i = 0; i < half; ++i) {
            const long double ang =
                (long double)t * std::exp(-(2.0L * i / s.hd) * std::log((long double)s.theta));
            // [y0; y1] = [[cos, -sin], [sin, cos]] [x0; x1]
            const long double m[2][2] = {{std::cos(ang), -std::sin(ang)},
                                         {std::sin(ang), std::cos(ang)}};
            const long double x0 = x[base + i], x1 = x[base + i + half];
            const double r0 = rotated ? double(m[0][0] * x0 + m[0][1] * x1) : x[base + i];
            const double r1 = rotated ? double(m[1][0] * x0 + m[1][1] * x1) : x[base + i + half];
            ASSERT_NEAR(y[base + i], r0, 1e-12) << "t=" << t << " head=" << head << " i=" << i;
            ASSERT_NEAR(y[base + i + half], r1, 1e-12) << "t=" << t << " head=" << head;
          }
        }
  }
}

TEST(Rope, BackwardInvertsForward) {
  std::mt19937 rng(41);
  for (const Shape& s : kShapes) {
    const Vec x = uniform(s.size(), rng);
    Vec y = x;
    cpu::rope_forward(y.data(), s.B, s.Tn, s.H, s.KVH, s.hd, s.theta);
    cpu::rope_backward(y.data(), s.B, s.Tn, s.H, s.KVH, s.hd, s.theta);
    expect_near("backward(forward(x))", y, x, 1e-14);
  }
}

TEST(Rope, BackwardMatchesFiniteDifferences) {
  const Shape s{2, 3, 2, 1, 4, 10000.0};  // t = 1, 2 rotate by non-trivial angles
  std::mt19937 rng(42);
  Vec x = uniform(s.size(), rng);
  const Vec R = uniform(s.size(), rng);
  auto loss = [&] {
    Vec y = x;
    cpu::rope_forward(y.data(), s.B, s.Tn, s.H, s.KVH, s.hd, s.theta);
    return dot(y, R);
  };
  Vec g = R;
  cpu::rope_backward(g.data(), s.B, s.Tn, s.H, s.KVH, s.hd, s.theta);
  expect_grad("dqkv", x, g, loss);
}

}  // namespace
}  // namespace merino::test

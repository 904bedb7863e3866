// Shared helpers for the CPU kernel tests: seeded random tensors, a central finite-difference
// gradient check (run with T = double), and tolerance comparisons.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace merino::test {

using Vec = std::vector<double>;

// n values uniform in [lo, hi)
inline Vec uniform(size_t n, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<int32_t> randint(size_t n, std::mt19937& rng, int32_t lo, int32_t hi_excl) {
  std::uniform_int_distribution<int32_t> dist(lo, hi_excl - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

template <class To, class From>
std::vector<To> cast(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

inline double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

inline double max_abs(const Vec& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Compares the analytic gradient `grad` of the scalar loss() with respect to x against
// central differences (loss(x + h e_i) - loss(x - h e_i)) / 2h, element by element. loss must
// read x (captured by reference). In double with h = 1e-5 the truncation error is ~h^2 and the
// rounding error ~1e-16 |loss| / h, both far below tol; a wrong gradient is off by O(1).
inline void expect_grad(const std::string& what, Vec& x, const Vec& grad,
                        const std::function<double()>& loss, double h = 1e-5, double tol = 1e-6) {
  ASSERT_EQ(x.size(), grad.size()) << what;
  int failures = 0;
  double largest = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double lp = loss();
    x[i] = saved - h;
    const double lm = loss();
    x[i] = saved;
    const double num = (lp - lm) / (2 * h);
    largest = std::max(largest, std::fabs(num));
    if (!(std::fabs(num - grad[i]) <= tol * std::max(1.0, std::fabs(num)))) {
      ADD_FAILURE() << what << "[" << i << "]: analytic " << grad[i] << ", numeric " << num;
      if (++failures >= 5) return;
    }
  }
  // a check against an all-zero numeric gradient would prove nothing
  EXPECT_GT(largest, 1e-3) << what << ": loss does not depend on this input";
}

// element-wise |a - b| <= atol + rtol |b|
inline void expect_near(const std::string& what, const Vec& a, const Vec& b, double atol,
                        double rtol = 0.0) {
  ASSERT_EQ(a.size(), b.size()) << what;
  int failures = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i]))) {
      ADD_FAILURE() << what << "[" << i << "]: " << a[i] << " vs " << b[i];
      if (++failures >= 5) return;
    }
  }
}

// float result against the double reference: max |f - d| <= rtol * max |d| (a norm-wise
// relative error, so single elements near cancellation do not need their own tolerance)
template <class F>
void expect_float_matches(const std::string& what, const std::vector<F>& f, const Vec& d,
                          double rtol = 1e-5) {
  ASSERT_EQ(f.size(), d.size()) << what;
  double err = 0.0;
  for (size_t i = 0; i < f.size(); ++i) {
    ASSERT_TRUE(std::isfinite(double(f[i]))) << what << "[" << i << "]";
    err = std::max(err, std::fabs(double(f[i]) - d[i]));
  }
  const double scale = max_abs(d);
  EXPECT_GT(scale, 0.0) << what;
  EXPECT_LE(err, rtol * scale) << what << ": max abs error " << err << ", max |ref| " << scale;
}

}  // namespace merino::test

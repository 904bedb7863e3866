#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/activation.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(Gelu, ForwardMatchesTanhApproximation) {
  // reference values of 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed independently
  const Vec x = {1.0, -2.0, 0.0};
  Vec y(3);
  cpu::gelu_forward(y.data(), x.data(), x.size());
  EXPECT_NEAR(y[0], 0.8411919906082768, 1e-15);
  EXPECT_NEAR(y[1], -0.04540230591222494, 1e-15);
  EXPECT_EQ(y[2], 0.0);

  std::mt19937 rng(50);
  const Vec u = uniform(50, rng, -5, 5);
  Vec v(u.size());
  cpu::gelu_forward(v.data(), u.data(), u.size());
  const double pi = std::acos(-1.0);
  for (size_t i = 0; i < u.size(); ++i)
    EXPECT_NEAR(
        v[i],
        0.5 * u[i] * (1 + std::tanh(std::sqrt(2 / pi) * (u[i] + 0.044715 * std::pow(u[i], 3)))),
        1e-14);
}

TEST(Relu, ForwardClampsNegatives) {
  const Vec x = {-1.5, 0.0, 2.5, -0.0, 1e-300};
  Vec y(x.size());
  cpu::relu_forward(y.data(), x.data(), x.size());
  const Vec ref = {0.0, 0.0, 2.5, 0.0, 1e-300};
  expect_near("relu", y, ref, 0.0);
}

TEST(Swiglu, ForwardMatchesFormula) {
  constexpr int N = 3, F = 5;
  std::mt19937 rng(51);
  const Vec x = uniform(N * 2 * F, rng, -4, 4);
  Vec y(N * F);
  cpu::swiglu_forward(y.data(), x.data(), N, F);
  for (int i = 0; i < N; ++i)
    for (int f = 0; f < F; ++f) {
      const double g = x[i * 2 * F + f], up = x[i * 2 * F + F + f];
      EXPECT_NEAR(y[i * F + f], g / (1 + std::exp(-g)) * up, 1e-14);
    }
}

// L = sum(f(x) * R); the backward pass must write (=) dinp, so it starts as NaN
template <class Fwd, class Bwd>
void check_pointwise(const char* what, Vec x, Fwd fwd, Bwd bwd) {
  std::mt19937 rng(52);
  const Vec R = uniform(x.size(), rng);
  auto loss = [&] {
    Vec y(x.size());
    fwd(y.data(), x.data(), x.size());
    return dot(y, R);
  };
  Vec dx(x.size(), kNaN);
  bwd(dx.data(), R.data(), x.data(), x.size());
  expect_grad(what, x, dx, loss);
}

TEST(Activation, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(53);
  check_pointwise("gelu", uniform(40, rng, -4, 4), cpu::gelu_forward<double>,
                  cpu::gelu_backward<double>);
  Vec xr = uniform(40, rng, 0.1, 2);  // away from the kink at 0
  for (size_t i = 0; i < xr.size(); i += 2) xr[i] = -xr[i];
  check_pointwise("relu", xr, cpu::relu_forward<double>, cpu::relu_backward<double>);

  constexpr int N = 3, F = 4;
  Vec x = uniform(N * 2 * F, rng, -3, 3);
  const Vec R = uniform(N * F, rng);
  auto loss = [&] {
    Vec y(N * F);
    cpu::swiglu_forward(y.data(), x.data(), N, F);
    return dot(y, R);
  };
  Vec dx(N * 2 * F, kNaN);
  cpu::swiglu_backward(dx.data(), R.data(), x.data(), N, F);
  expect_grad("swiglu", x, dx, loss);
}

}  // namespace
}  // namespace merino::test

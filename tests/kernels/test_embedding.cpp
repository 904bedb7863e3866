#include <gtest/gtest.h>

#include "kernels/cpu/embedding.h"
#include "tests/kernels/kernel_test_util.h"

namespace merino::test {
namespace {

constexpr int B = 2, Tn = 3, C = 5, V = 7, kOff = 2;  // OPT-style offset: wpe has Tn + 2 rows

// tokens with repeats, so the backward pass must sum several rows into one table row
const std::vector<int32_t> kTokens = {3, 1, 3, 6, 3, 0};

TEST(Embedding, ForwardGathersRows) {
  std::mt19937 rng(1);
  const Vec wte = uniform(V * C, rng), wpe = uniform((Tn + kOff) * C, rng);
  Vec out(B * Tn * C, -7.0), out_nopos(B * Tn * C, -7.0);
  cpu::embedding_forward(out.data(), kTokens.data(), wte.data(), wpe.data(), B, Tn, C, kOff);
  cpu::embedding_forward(out_nopos.data(), kTokens.data(), wte.data(), (const double*)nullptr, B,
                         Tn, C, kOff);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < Tn; ++t)
      for (int c = 0; c < C; ++c) {
        const int r = b * Tn + t;
        const double e = wte[kTokens[r] * C + c];
        EXPECT_DOUBLE_EQ(out[r * C + c], e + wpe[(t + kOff) * C + c]);
        EXPECT_DOUBLE_EQ(out_nopos[r * C + c], e);
      }
}

TEST(Embedding, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(2);
  Vec wte = uniform(V * C, rng), wpe = uniform((Tn + kOff) * C, rng);
  const Vec R = uniform(B * Tn * C, rng);
  auto loss = [&] {
    Vec out(B * Tn * C);
    cpu::embedding_forward(out.data(), kTokens.data(), wte.data(), wpe.data(), B, Tn, C, kOff);
    return dot(out, R);
  };
  Vec dwte(V * C, 0.0), dwpe((Tn + kOff) * C, 0.0);
  cpu::embedding_backward(dwte.data(), dwpe.data(), R.data(), kTokens.data(), B, Tn, C, kOff);
  expect_grad("dwte", wte, dwte, loss);
  expect_grad("dwpe", wpe, dwpe, loss);
}

TEST(Embedding, BackwardAccumulates) {
  std::mt19937 rng(3);
  const Vec dout = uniform(B * Tn * C, rng);
  Vec once_wte(V * C, 0.0), once_wpe((Tn + kOff) * C, 0.0);
  cpu::embedding_backward(once_wte.data(), once_wpe.data(), dout.data(), kTokens.data(), B, Tn, C,
                          kOff);
  Vec twice_wte(V * C, 0.0), twice_wpe((Tn + kOff) * C, 0.0);
  for (int rep = 0; rep < 2; ++rep)
    cpu::embedding_backward(twice_wte.data(), twice_wpe.data(), dout.data(), kTokens.data(), B, Tn,
                            C, kOff);
  for (auto& x : once_wte) x *= 2;
  for (auto& x : once_wpe) x *= 2;
  expect_near("dwte", twice_wte, once_wte, 1e-14);
  expect_near("dwpe", twice_wpe, once_wpe, 1e-14);
  // a null dwpe skips the position table but still fills the token table
  Vec only_wte(V * C, 0.0);
  cpu::embedding_backward(only_wte.data(), (double*)nullptr, dout.data(), kTokens.data(), B, Tn, C,
                          kOff);
  for (auto& x : only_wte) x *= 2;
  expect_near("dwte (no dwpe)", only_wte, once_wte, 1e-14);
}

}  // namespace
}  // namespace merino::test

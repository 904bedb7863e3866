// Embedding forward/backward (kernels/cuda/embedding.cu) against its CPU twin
// (kernels/cpu/embedding.h) on seeded random inputs: odd C (scalar path), unaligned pointers,
// pos_offset > 0, no wpe, tokens repeated within a batch (runs longer than a 32-position tile,
// one token filling the whole batch), nonzero gradients on entry (+=). Every test first checks
// for a device and reports SKIPPED (never passes) without one.
//
// Tolerances.
// * Embedding forward, fp32: one IEEE addition per element on both sides: exact (tolerance 0).
//   bf16: fp32 sum of two bf16 values rounded to nearest-even on both sides: exact as well.
// * dwpe, fp32: the kernel adds the B rows of a position in batch order starting from the old
//   value, the CPU twin's order: exact. dwte, fp32: a token's rows are added in the CPU's order
//   when they fall in one tile; a run crossing tiles is summed per tile and the pieces added in
//   tile order. Each side's recursive sum of L terms has error <= (L - 1) * 2^-24 * sum|terms|
//   (Higham, Accuracy and Stability, 4.2), so the two differ by at most
//   2 * L * 2^-24 * sum|terms| per element -- the bound used, with sum|terms| computed by running
//   the CPU twin on |inputs|. A row sent to the wrong token or missed moves an element by O(1).
//   Tokens that occur once are checked bit-exactly (one addition, same order).
// * bf16 backward: the GPU rounds the fp32 sum once (bf16 keeps 8 significant bits: relative
//   error at most 2^-8); the reference is the CPU twin in fp32 on the same bf16 inputs, so the
//   bound is 2^-8 * |ref| + the fp32 bound above.
// * Mixed precision backward (bf16 dout, fp32 dwte / dwpe): nothing is rounded to bf16, and the
//   CPU twin in fp32 on the same (exact) bf16 values adds in the same order, so the fp32 bounds
//   and bit-exact checks apply unchanged.
#include <gtest/gtest.h>

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/embedding.h"
#include "kernels/cuda/embedding.cuh"
#include "tests/cuda/cuda_test_util.h"

namespace {

using namespace merino::testing;
using Ints = std::vector<int32_t>;

// v as stored in T (exact when v holds values of T)
template <class T>
std::vector<T> stored_as(const Floats& v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    return to_bf16(v);
  }
}
Floats abs_of(Floats v) {
  for (auto& x : v) x = std::fabs(x);
  return v;
}

enum class Tokens { kUniform, kSmallVocab, kOneToken };

struct EmbCase {
  int B, T, C, V, pos_offset;
  bool wpe;
  Tokens tokens;
  size_t offset;  // element offset of every device pointer (1: unaligned, scalar path)
};

std::string name(const EmbCase& c) {
  std::ostringstream s;
  s << "B=" << c.B << " T=" << c.T << " C=" << c.C << " V=" << c.V << " pos_offset=" << c.pos_offset
    << (c.wpe ? "" : " no-wpe") << " tokens=" << int(c.tokens) << " offset=" << c.offset;
  return s.str();
}

// C = 3, 77 (scalar), 64 and 768 (16-byte vectors: 4 floats / 8 bf16); N = B*T = 1, 35 (partial
// tile), 1000, 2048; tokens: uniform over V = 50257 (mostly distinct), over V = 5 (runs of
// hundreds of rows crossing many 32-position tiles), or one token for the whole batch.
const EmbCase kEmbCases[] = {
    {1, 1, 3, 7, 0, true, Tokens::kUniform, 0},
    {5, 7, 77, 5, 2, true, Tokens::kSmallVocab, 0},
    {4, 250, 64, 50257, 3, true, Tokens::kUniform, 0},
    {4, 250, 64, 5, 0, true, Tokens::kSmallVocab, 0},
    {2, 1024, 768, 50257, 2, true, Tokens::kSmallVocab, 0},
    {8, 128, 768, 50257, 0, false, Tokens::kUniform, 0},
    {3, 99, 64, 11, 1, true, Tokens::kOneToken, 0},
    {3, 99, 64, 11, 2, true, Tokens::kSmallVocab, 1},
};

Ints make_tokens(const EmbCase& c, std::mt19937& rng) {
  const int V = c.tokens == Tokens::kSmallVocab ? std::min(c.V, 5) : c.V;
  std::uniform_int_distribution<int32_t> dist(0, V - 1);
  Ints t(size_t(c.B) * c.T);
  const int32_t only = dist(rng);
  for (auto& x : t) x = c.tokens == Tokens::kOneToken ? only : dist(rng);
  return t;
}

// Rows of wpe the kernels may touch: T + pos_offset (OPT-style offset), plus 3 never touched.
size_t wpe_rows(const EmbCase& c) { return size_t(c.T) + c.pos_offset + 3; }

TEST(Embedding, ForwardMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for (const EmbCase& c : kEmbCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(11 + c.C + c.T);
    const Ints tok = make_tokens(c, rng);
    const size_t NC = tok.size() * c.C;
    const Floats wte = uniform(size_t(c.V) * c.C, rng, -1.f, 1.f),
                 wpe = uniform(wpe_rows(c) * c.C, rng, -1.f, 1.f);
    Floats ref(NC);
    merino::cpu::embedding_forward(ref.data(), tok.data(), wte.data(), c.wpe ? wpe.data() : nullptr,
                                   c.B, c.T, c.C, c.pos_offset);
    {  // fp32
      DeviceBuffer<float> out(NC, c.offset), dwte(wte, c.offset), dwpe(wpe, c.offset);
      DeviceBuffer<int32_t> dtok(tok);
      merino::cuda::embedding_forward(out.get(), dtok.get(), dwte.get(),
                                      c.wpe ? dwpe.get() : nullptr, c.B, c.T, c.C, c.pos_offset);
      expect_bitwise_equal("fp32 out", out.download(), ref);
    }
    {  // bf16: reference = fp32 sum of the bf16 inputs, rounded to nearest-even
      const Floats wte_b = round_bf16(wte), wpe_b = round_bf16(wpe);
      Floats ref_b(NC);
      merino::cpu::embedding_forward(ref_b.data(), tok.data(), wte_b.data(),
                                     c.wpe ? wpe_b.data() : nullptr, c.B, c.T, c.C, c.pos_offset);
      DeviceBuffer<bf16> out(NC, c.offset), dwte(to_bf16(wte), c.offset),
          dwpe(to_bf16(wpe), c.offset);
      DeviceBuffer<int32_t> dtok(tok);
      merino::cuda::embedding_forward(out.get(), dtok.get(), dwte.get(),
                                      c.wpe ? dwpe.get() : nullptr, c.B, c.T, c.C, c.pos_offset);
      expect_bitwise_equal("bf16 out", to_float(out.download()), round_bf16(ref_b));
    }
  }
}

struct BackwardRef {
  Floats dwte, dwpe;                     // CPU twin on the inputs
  std::vector<double> bte, bpe;          // fp32 error bounds per element
  std::vector<bool> single;              // dwte rows of tokens that occur exactly once
};

// The CPU twin on (dwte0, dwpe0, dout), and the bounds 2 * L * u * sum|terms| where L is the
// largest number of terms any element sums.
BackwardRef backward_reference(const EmbCase& c, const Ints& tok, const Floats& dwte0,
                               const Floats& dwpe0, const Floats& dout) {
  BackwardRef r{dwte0, dwpe0, {}, {}, std::vector<bool>(size_t(c.V), false)};
  float* pe = c.wpe ? r.dwpe.data() : nullptr;
  merino::cpu::embedding_backward(r.dwte.data(), pe, dout.data(), tok.data(), c.B, c.T, c.C,
                                  c.pos_offset);
  Floats ate = abs_of(dwte0), ape = abs_of(dwpe0);
  const Floats adout = abs_of(dout);
  merino::cpu::embedding_backward(ate.data(), c.wpe ? ape.data() : nullptr, adout.data(),
                                  tok.data(), c.B, c.T, c.C, c.pos_offset);
  std::vector<int> count(size_t(c.V), 0);
  for (int32_t t : tok) ++count[size_t(t)];
  const int L = *std::max_element(count.begin(), count.end()) + 1;
  for (int v = 0; v < c.V; ++v) r.single[size_t(v)] = count[size_t(v)] == 1;
  r.bte.resize(ate.size());
  for (size_t i = 0; i < ate.size(); ++i) r.bte[i] = 2.0 * L * kU * ate[i];
  r.bpe.assign(ape.size(), 0.0);  // batch order on both sides: exact
  return r;
}

// fp32 gradient tables against the reference: dwte within its bound, and the CPU's bits in the
// rows of tokens seen once (one addition); dwpe exact where touched, untouched elsewhere (also
// when wpe is null, where it must still hold dwpe0).
void expect_fp32_gradients_match(const EmbCase& c, const BackwardRef& ref, const Floats& got_te,
                                 const Floats& got_pe, const Floats& dwpe0) {
  expect_within("dwte", got_te, ref.dwte, ref.bte);
  Floats single_got, single_ref;
  for (int v = 0; v < c.V; ++v) {
    if (!ref.single[size_t(v)]) continue;
    for (int k = 0; k < c.C; ++k) {
      single_got.push_back(got_te[size_t(v) * c.C + k]);
      single_ref.push_back(ref.dwte[size_t(v) * c.C + k]);
    }
  }
  if (!single_ref.empty()) expect_bitwise_equal("dwte, single tokens", single_got, single_ref);
  expect_bitwise_equal("dwpe", got_pe, c.wpe ? ref.dwpe : dwpe0);
}

// Each case's inputs drawn from `seed` (dwte0, dwpe0, dout in [-1, 1); `gradients_bf16` /
// `dout_bf16` round them to bf16, the values the device then holds), the CPU reference on
// them, embedding_backward on the device with gradient tables of type G and dout of type E,
// and check(case, reference, dwte, dwpe as floats, dwpe0).
template <class G, class E, class Check>
void for_each_backward_case(uint32_t seed, Check&& check) {
  for (const EmbCase& c : kEmbCases) {
    SCOPED_TRACE(name(c));
    std::mt19937 rng(seed + c.C + c.T);
    const Ints tok = make_tokens(c, rng);
    const size_t NC = tok.size() * c.C;
    auto as_g = [](const Floats& v) { return std::is_same_v<G, float> ? v : round_bf16(v); };
    const Floats dwte0 = as_g(uniform(size_t(c.V) * c.C, rng, -1.f, 1.f)),
                 dwpe0 = as_g(uniform(wpe_rows(c) * c.C, rng, -1.f, 1.f));
    Floats dout = uniform(NC, rng, -1.f, 1.f);
    if constexpr (!std::is_same_v<E, float>) dout = round_bf16(dout);
    BackwardRef ref = backward_reference(c, tok, dwte0, dwpe0, dout);
    DeviceBuffer<G> dwte(stored_as<G>(dwte0), c.offset), dwpe(stored_as<G>(dwpe0), c.offset);
    DeviceBuffer<E> ddout(stored_as<E>(dout), c.offset);
    DeviceBuffer<int32_t> dtok(tok);
    merino::cuda::embedding_backward(dwte.get(), c.wpe ? dwpe.get() : nullptr, ddout.get(),
                                     dtok.get(), c.B, c.T, c.C, c.pos_offset);
    check(c, ref, to_float(dwte.download()), to_float(dwpe.download()), dwpe0);
  }
}

TEST(Embedding, BackwardFp32MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for_each_backward_case<float, float>(21, expect_fp32_gradients_match);
}

// bf16 tables: the fp32 bounds plus one bf16 rounding of each result (2^-8 relative).
TEST(Embedding, BackwardBf16MatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for_each_backward_case<bf16, bf16>(31, [](const EmbCase&, BackwardRef& ref, const Floats& te,
                                            const Floats& pe, const Floats&) {
    for (size_t i = 0; i < ref.bte.size(); ++i) {
      ref.bte[i] += std::ldexp(std::fabs(ref.dwte[i]), -8);
    }
    std::vector<double> bpe(ref.dwpe.size());
    for (size_t i = 0; i < bpe.size(); ++i) bpe[i] = std::ldexp(std::fabs(ref.dwpe[i]), -8);
    expect_within("dwte", te, ref.dwte, ref.bte);
    expect_within("dwpe", pe, ref.dwpe, bpe);
  });
}

TEST(Embedding, BackwardBf16WithFp32GradientsMatchesCpu) {
  REQUIRE_CUDA_DEVICE();
  for_each_backward_case<float, bf16>(51, expect_fp32_gradients_match);
}

// n values uniform in [-1, 1) as T (rounded to nearest for bf16)
template <class T>
std::vector<T> uniform_as(size_t n, std::mt19937& rng) {
  if constexpr (std::is_same_v<T, float>) {
    return uniform(n, rng, -1.f, 1.f);
  } else {
    return to_bf16(uniform(n, rng, -1.f, 1.f));
  }
}

// Same bits on every run, with and without caller-provided scratch, for the skewed token
// distributions where a run spans many tiles (the combine step) as well as mostly-unique ones.
// T: dout; G: the gradient tables.
template <class T, class G = T>
void check_backward_deterministic(const EmbCase& c) {
  std::mt19937 rng(41 + c.C);
  const Ints tok = make_tokens(c, rng);
  const size_t NC = tok.size() * c.C;
  const std::vector<G> dwte0 = uniform_as<G>(size_t(c.V) * c.C, rng),
                       dwpe0 = uniform_as<G>(wpe_rows(c) * c.C, rng);
  const std::vector<T> dout = uniform_as<T>(NC, rng);
  DeviceBuffer<int32_t> dtok(tok);
  DeviceBuffer<T> ddout(dout);
  DeviceBuffer<char> scratch(merino::cuda::embedding_backward_scratch_bytes(c.B, c.T, c.C));
  std::vector<G> first_te, first_pe;
  for (int run = 0; run < 3; ++run) {
    DeviceBuffer<G> dwte(dwte0), dwpe(dwpe0);
    merino::cuda::embedding_backward(dwte.get(), dwpe.get(), ddout.get(), dtok.get(), c.B, c.T,
                                     c.C, c.pos_offset, 0, run == 2 ? scratch.get() : nullptr);
    const std::vector<G> te = dwte.download(), pe = dwpe.download();
    if (run == 0) {
      first_te = te;
      first_pe = pe;
      continue;
    }
    EXPECT_EQ(std::memcmp(te.data(), first_te.data(), te.size() * sizeof(G)), 0) << "run " << run;
    EXPECT_EQ(std::memcmp(pe.data(), first_pe.data(), pe.size() * sizeof(G)), 0) << "run " << run;
  }
}

TEST(Embedding, BackwardIsDeterministic) {
  REQUIRE_CUDA_DEVICE();
  const EmbCase cases[] = {{8, 1024, 768, 50257, 2, true, Tokens::kSmallVocab, 0},
                           {8, 1024, 768, 50257, 0, true, Tokens::kUniform, 0},
                           {4, 333, 77, 9, 1, true, Tokens::kOneToken, 0}};
  for (const EmbCase& c : cases) {
    SCOPED_TRACE(name(c));
    check_backward_deterministic<float>(c);
    check_backward_deterministic<bf16>(c);
    check_backward_deterministic<bf16, float>(c);
  }
}

}  // namespace

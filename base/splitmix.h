// The project's one SplitMix64 (Steele, Lea & Flood 2014: Java's SplittableRandom, the seeder of
// xoshiro; constants from Vigna's splitmix64.c). Its mixing step serves three users: the loader's
// shuffles (the generator below), the weight initialisation (model/init.h's NormalRng) and the
// bf16 stochastic rounding (kernels/bf16.h, also on the device). Written out so that a seed gives
// the same numbers with every compiler and standard library (std::uniform_int_distribution and
// std::shuffle are implementation-defined); bounded draws use Lemire's unbiased multiply-shift.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "base/host_device.h"

namespace merino {

// The generator's state advances by this odd constant (2^64 / golden ratio) per draw.
constexpr uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ULL;

// SplitMix64's output function: a bijection on 64-bit words whose output bits all depend on
// all input bits, so mix64(key + i) is also a counter-based stream (one value per index i).
MERINO_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() { return mix64(state_ += kSplitMix64Gamma); }

  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = -n % n;  // 2^64 mod n: the draws that would bias the result
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // One seed from several words, each fully mixed in, so (seed, epoch, shard) tuples that
  // differ in any word give unrelated streams.
  static uint64_t derive(std::initializer_list<uint64_t> words) {
    SplitMix64 g(0x6d6572696e6f2d31ULL);  // "merino-1"
    uint64_t h = g.next();
    for (uint64_t w : words) {
      g = SplitMix64(h ^ w);
      h = g.next();
    }
    return h;
  }

 private:
  uint64_t state_;
};

// Fisher-Yates shuffle of `v` driven by `rng`.
template <typename T>
void shuffle_in_place(std::vector<T>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace merino
